/**
 * The mini-program platform adapter: everything the client (../client.mjs) needs from the host,
 * over the `wx`-style API that WeChat, QQ, ByteDance (`tt`) and Baidu (`swan`) share.
 *
 * | need              | API used                                                             |
 * |-------------------|----------------------------------------------------------------------|
 * | storage           | `getStorageInfoSync` / `getStorageSync` / `setStorageSync` / `removeStorageSync` — synchronous on purpose: a persisted event is on disk before the next line runs, so a kill 5 ms after hide loses nothing |
 * | network           | `request` with an ArrayBuffer body, `header`, `timeout`, `dataType: 'text'`; status and `Retry-After` go back to the core |
 * | randomness        | `getRandomValues` (WeChat 2.15.0, ByteDance 2.87.0); never `Math.random` |
 * | context           | `getDeviceInfo` / `getWindowInfo` / `getAppBaseInfo` (or `getSystemInfoSync` on older hosts), `getAccountInfoSync` |
 * | network type      | `getNetworkType`, `onNetworkStatusChange`                           |
 * | app show / hide   | `onAppShow` / `onAppHide` (fallback when `App()` cannot be hooked)  |
 *
 * Which host is which (see docs/WRAPPER.md for what is verified and what is assumed):
 * `qq` -> QQ, `tt` -> ByteDance, `swan` -> Baidu, `wx` -> WeChat (checked in that order because
 * some hosts also define `wx` as an alias).
 */

/* global wx, qq, tt, swan, my, WXWebAssembly, TTWebAssembly, QQWebAssembly */

/** The detected host: `{ name, api, engine }` (engine: the path-only wasm engine, if any). */
export function detectPlatform() {
  const wxEngine = typeof WXWebAssembly !== 'undefined' ? WXWebAssembly : undefined;
  const ttEngine = typeof TTWebAssembly !== 'undefined' ? TTWebAssembly : undefined;
  // [name, API object (falsy when absent), engine], in detection order.
  const hosts = [
    [
      'qq',
      typeof qq === 'object' && qq,
      typeof QQWebAssembly !== 'undefined' ? QQWebAssembly : wxEngine,
    ],
    ['bytedance', typeof tt === 'object' && tt, ttEngine],
    ['baidu', typeof swan === 'object' && swan],
    ['alipay', typeof my === 'object' && typeof wx === 'undefined' && my],
    ['wechat', typeof wx === 'object' && wx, wxEngine],
  ];
  for (const [name, api, engine] of hosts) if (api) return { name, api, engine };
  // No known API object (a bare realm): whichever engine there is still loads the wasm.
  return { name: 'unknown', engine: wxEngine || ttEngine };
}

/** `Retry-After` in seconds from a response header object (any case; seconds or HTTP date). */
export function retryAfterSeconds(header, now) {
  if (!header || typeof header !== 'object') return undefined;
  for (const name of Object.keys(header)) {
    if (name.toLowerCase() !== 'retry-after') continue;
    const raw = String(header[name]).trim();
    if (/^\d+(\.\d+)?$/.test(raw)) return Number(raw);
    const at = Date.parse(raw);
    if (!Number.isNaN(at)) return Math.max(0, (at - now) / 1000);
  }
  return undefined;
}

/** A Uint8Array as an ArrayBuffer of exactly its bytes (what `request` sends as a binary body). */
export function toArrayBuffer(bytes) {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes.buffer;
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
}

function call(api, name, arg) {
  if (!api || typeof api[name] !== 'function') return undefined;
  try {
    return api[name](arg);
  } catch (_) {
    return undefined;
  }
}

/** The host info fields the context is built from. */
const CONTEXT_FIELDS =
  'SDKVersion version brand model system platform screenWidth screenHeight pixelRatio language'.split(
    ' ',
  );

/**
 * The static context the core puts on every event (protocol `Context`, camelCase).
 * Only what the host reports; nothing is invented.
 */
export function collectContext(platform) {
  const get = (name) => call(platform.api, name) || {};
  const device = get('getDeviceInfo');
  const win = get('getWindowInfo');
  const sources = [device, win, get('getAppBaseInfo')];
  if (device.model === undefined && win.screenWidth === undefined) {
    sources.push(get('getSystemInfoSync'));
  }
  // Each field from the first source above that has it (not null / undefined).
  const info = {};
  for (const k of CONTEXT_FIELDS) {
    info[k] = sources.map((src) => src[k]).find((v) => v != null);
  }
  const mp = get('getAccountInfoSync').miniProgram || {};
  // Fields left `undefined` are absent for the core (inputs cross as JSON).
  const context = {
    miniProgram: {
      platform: platform.name,
      baseLibraryVersion: info.SDKVersion,
      hostVersion: info.version,
    },
  };
  if (mp.appId || mp.version || mp.envVersion) {
    context.app = {
      id: mp.appId || undefined,
      version: mp.version || undefined,
      env: mp.envVersion || undefined,
    };
  }
  if (info.brand || info.model) context.device = { brand: info.brand, model: info.model };
  // `system` is "iOS 17.4.1" / "Android 14"; `platform` is ios / android / devtools / windows / mac.
  const m = typeof info.system === 'string' && /^(\S+)\s*(.*)$/.exec(info.system.trim());
  if (m) context.os = { name: m[1], version: m[2] || undefined };
  else if (typeof info.platform === 'string' && info.platform) context.os = { name: info.platform };
  const { screenWidth: width, screenHeight: height, pixelRatio: density } = info;
  if (typeof width === 'number' && typeof height === 'number') {
    context.screen = {
      width: Math.round(width),
      height: Math.round(height),
      density: typeof density === 'number' ? density : undefined,
    };
  }
  if (typeof info.language === 'string' && info.language) context.locale = info.language;
  const offset = -new Date().getTimezoneOffset();
  context.timezone = String(offset);
  return { context, timezoneOffsetMin: offset, libraryName: 'maidian-miniprogram' };
}

/**
 * The host adapter for the client.
 * @param {{name: string, api: object}} platform from {@link detectPlatform}
 * @param {(options: object) => Promise<Function>} loadCore resolves the core factory
 */
export function createMiniProgramHost(platform, loadCore, console_ = console) {
  const api = platform.api;
  let cachedContext;
  return {
    console: console_,
    now: () => Date.now(),
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (id) => clearTimeout(id),
    loadCore,
    context() {
      if (!cachedContext) cachedContext = collectContext(platform);
      return cachedContext;
    },
    randomBytes(n) {
      return new Promise((resolve) => {
        if (!api || typeof api.getRandomValues !== 'function') {
          resolve(null);
          return;
        }
        try {
          api.getRandomValues({
            length: n,
            success: (res) => resolve(new Uint8Array(res.randomValues)),
            fail: () => resolve(null),
          });
        } catch (_) {
          resolve(null);
        }
      });
    },
    storage: {
      /** Every stored `[key, value]` whose key starts with `prefix` (strings only). */
      entries(prefix) {
        const info = call(api, 'getStorageInfoSync');
        const keys = info && Array.isArray(info.keys) ? info.keys : [];
        const out = [];
        for (const key of keys) {
          if (typeof key !== 'string' || !key.startsWith(prefix)) continue;
          const value = call(api, 'getStorageSync', key);
          if (typeof value === 'string') out.push([key, value]);
        }
        return out;
      },
      /**
       * Synchronous write; false when the host refused it (quota, ~1 MB per key): the client
       * then reports `persistFailed(key)` and the core keeps those events in memory.
       */
      set(key, value) {
        try {
          api.setStorageSync(key, value);
          return true;
        } catch (_) {
          return false;
        }
      },
      remove(key) {
        try {
          api.removeStorageSync(key);
        } catch (_) {
          // Nothing to do: a key that cannot be removed is retried by the core's next purge.
        }
      },
    },
    request({ url, body, headers, timeoutMs }, done) {
      api.request({
        url,
        method: 'POST',
        data: toArrayBuffer(body),
        header: headers,
        timeout: timeoutMs,
        dataType: 'text',
        responseType: 'text',
        success: (res) => done(res.statusCode | 0, retryAfterSeconds(res.header, Date.now())),
        fail: () => done(0, undefined),
      });
    },
    watchNetwork(report) {
      const onType = (res) => res?.networkType && report(res.networkType);
      call(api, 'getNetworkType', { success: onType });
      call(api, 'onNetworkStatusChange', onType);
    },
  };
}
