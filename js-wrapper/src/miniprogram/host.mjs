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
  // `for in` over a missing header runs no iteration.
  for (const name in header) {
    if (!/^retry-after$/i.test(name)) continue;
    const raw = String(header[name]).trim();
    if (/^\d+(\.\d+)?$/.test(raw)) return +raw;
    const at = Date.parse(raw);
    if (!Number.isNaN(at)) return Math.max(0, (at - now) / 1000);
  }
  return undefined;
}

/** A Uint8Array as an ArrayBuffer of exactly its bytes (what `request` sends as a binary body). */
export function toArrayBuffer(bytes) {
  // A view as long as its buffer is all of it; otherwise a copy of the view's bytes.
  return bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer;
}

/** `api[name](arg)`, or `undefined` when the host has no such API or it throws. */
export function call(api, name, arg) {
  try {
    return api[name](arg);
  } catch (_) {
    return undefined;
  }
}

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
  /** Host info field `k` from the first source above that has it (not null / undefined). */
  const info = (k) => sources.map((src) => src[k]).find((v) => v != null);
  const brand = info('brand');
  const model = info('model');
  const system = info('system');
  const os = info('platform');
  const language = info('language');
  const width = info('screenWidth');
  const height = info('screenHeight');
  const density = info('pixelRatio');
  const { appId, version, envVersion } = get('getAccountInfoSync').miniProgram || {};
  // Fields left `undefined` are absent for the core (inputs cross as JSON).
  const context = {
    miniProgram: {
      platform: platform.name,
      baseLibraryVersion: info('SDKVersion'),
      hostVersion: info('version'),
    },
  };
  if (appId || version || envVersion) {
    context.app = {
      id: appId || undefined,
      version: version || undefined,
      env: envVersion || undefined,
    };
  }
  if (brand || model) context.device = { brand, model };
  // `system` is "iOS 17.4.1" / "Android 14"; `platform` is ios / android / devtools / windows / mac.
  const m = typeof system === 'string' && /^(\S+)\s*(.*)$/.exec(system.trim());
  if (m) context.os = { name: m[1], version: m[2] || undefined };
  else if (typeof os === 'string' && os) context.os = { name: os };
  if (typeof width === 'number' && typeof height === 'number') {
    context.screen = {
      width: Math.round(width),
      height: Math.round(height),
      density: typeof density === 'number' ? density : undefined,
    };
  }
  if (typeof language === 'string' && language) context.locale = language;
  const offset = -new Date().getTimezoneOffset();
  context.timezone = String(offset);
  return { context, timezoneOffsetMin: offset, libraryName: 'maidian-miniprogram' };
}

/**
 * The host adapter for the client.
 * @param {{name: string, api: object}} platform from {@link detectPlatform}
 * @param {(options: object) => Promise<Function>} loadCore resolves the core factory
 */
export function createMiniProgramHost(platform, loadCore) {
  const api = platform.api;
  let cachedContext;
  return {
    console,
    // `Date.now` ignores its `this`; the timers are called as plain functions.
    now: Date.now,
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (id) => clearTimeout(id),
    loadCore,
    context() {
      if (!cachedContext) cachedContext = collectContext(platform);
      return cachedContext;
    },
    randomBytes: (n) =>
      new Promise((resolve) => {
        const fail = () => resolve(null);
        try {
          // Throws (-> null) on a host without the API.
          api.getRandomValues({
            length: n,
            success: (res) => resolve(new Uint8Array(res.randomValues)),
            fail,
          });
        } catch (_) {
          fail();
        }
      }),
    storage: {
      /** Every stored `[key, value]` whose key starts with `prefix` (strings only). */
      entries(prefix) {
        const keys = Object(call(api, 'getStorageInfoSync')).keys;
        const out = [];
        for (const key of Array.isArray(keys) ? keys : []) {
          const value =
            typeof key === 'string' && key.startsWith(prefix) && call(api, 'getStorageSync', key);
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
      // A key that cannot be removed is retried by the core's next purge.
      remove: (key) => call(api, 'removeStorageSync', key),
    },
    request({ url, body, headers, timeoutMs }, done) {
      // `responseType` is left at its default, `text`, on every host.
      api.request({
        url,
        method: 'POST',
        data: toArrayBuffer(body),
        header: headers,
        timeout: timeoutMs,
        dataType: 'text',
        success: (res) => done(res.statusCode | 0, retryAfterSeconds(res.header, Date.now())),
        fail: () => done(0),
      });
    },
    watchNetwork(report) {
      const onType = (res) => {
        const type = Object(res).networkType;
        if (type) report(type);
      };
      call(api, 'getNetworkType', { success: onType });
      call(api, 'onNetworkStatusChange', onType);
    },
  };
}
