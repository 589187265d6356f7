/**
 * The host adapter for browsers and Node: WHATWG `fetch`, `crypto.getRandomValues`,
 * `localStorage` when there is one (else memory: Node keeps nothing across restarts unless the
 * app passes `storage`), and plain timers. Mini-programs use ./miniprogram/host.mjs instead.
 */

function memoryStorage() {
  const map = new Map();
  return {
    getItem: (k) => (map.has(k) ? map.get(k) : null),
    setItem: (k, v) => map.set(k, String(v)),
    removeItem: (k) => map.delete(k),
    keys: () => Array.from(map.keys()),
  };
}

function webStorage(ls) {
  return {
    getItem: (k) => ls.getItem(k),
    setItem: (k, v) => ls.setItem(k, v),
    removeItem: (k) => ls.removeItem(k),
    keys: () => {
      const out = [];
      for (let i = 0; i < ls.length; i += 1) out.push(ls.key(i));
      return out;
    },
  };
}

function defaultStorage() {
  try {
    if (typeof localStorage !== 'undefined' && localStorage) return webStorage(localStorage);
  } catch (_) {
    // Access denied (sandboxed iframe, privacy mode): fall through to memory.
  }
  return memoryStorage();
}

/**
 * @param {object} opts
 * @param {(options: object) => Promise<Function>} opts.loadCore
 * @param {() => object} opts.context static context for the core
 * @param {boolean} [opts.unrefTimers] Node: timers must not keep the process alive
 */
export function createStandardHost({ loadCore, context, unrefTimers = false }) {
  let store = null;
  const storage = () => {
    if (!store) store = defaultStorage();
    return store;
  };
  return {
    console,
    now: () => Date.now(),
    setTimeout(fn, ms) {
      const id = setTimeout(fn, ms);
      if (unrefTimers && id && typeof id.unref === 'function') id.unref();
      return id;
    },
    clearTimeout: (id) => clearTimeout(id),
    loadCore(options) {
      if (options.storage) store = options.storage;
      return loadCore(options);
    },
    context,
    randomBytes(n) {
      const c = globalThis.crypto;
      if (!c || typeof c.getRandomValues !== 'function') return Promise.resolve(null);
      return Promise.resolve(c.getRandomValues(new Uint8Array(n)));
    },
    storage: {
      entries(prefix) {
        const s = storage();
        const out = [];
        for (const k of s.keys()) {
          if (typeof k !== 'string' || !k.startsWith(prefix)) continue;
          const v = s.getItem(k);
          if (typeof v === 'string') out.push([k, v]);
        }
        return out;
      },
      set(key, value) {
        try {
          storage().setItem(key, value);
          return true;
        } catch (_) {
          return false;
        }
      },
      remove(key) {
        try {
          storage().removeItem(key);
        } catch (_) {
          // Nothing to do.
        }
      },
    },
    request({ url, body, headers, timeoutMs }, done) {
      const ctrl = typeof AbortController === 'function' ? new AbortController() : undefined;
      const timer = ctrl ? setTimeout(() => ctrl.abort(), timeoutMs) : undefined;
      if (timer && typeof timer.unref === 'function') timer.unref();
      fetch(url, {
        method: 'POST',
        body,
        headers,
        // Lets a batch sent while the page is being hidden or unloaded complete (<= 64 KB).
        keepalive: body.byteLength <= 65536,
        signal: ctrl?.signal,
      })
        .then((res) => {
          const ra = res.headers.get('retry-after');
          const n = ra === null ? Number.NaN : Number(ra);
          done(res.status, Number.isFinite(n) ? n : undefined);
        })
        .catch(() => done(0, undefined))
        .finally(() => clearTimeout(timer));
    },
    watchNetwork() {},
  };
}
