/**
 * The browser entry (`dist/web/index.js`, ESM for bundlers): the same API over `fetch`
 * (keepalive), `crypto.getRandomValues` and `localStorage`. `init` fetches
 * `maidian_sdk_bg.wasm` next to this module unless `wasmPath` (a URL) is given. Reports app
 * show/hide from `visibilitychange` and the page view of `location.pathname`.
 */
import { createClient } from '../client.mjs';
import { coreFactory } from '../core-adapter.mjs';
import { createStandardHost } from '../standard-host.mjs';
import initWasm, * as wasm from './maidian_sdk.js';

const host = createStandardHost({
  loadCore: (options) =>
    initWasm(options.wasmPath ? { module_or_path: options.wasmPath } : undefined).then(() =>
      coreFactory(wasm),
    ),
  context: () => {
    const s = typeof screen !== 'undefined' ? screen : undefined;
    const context = { miniProgram: { platform: 'web' } };
    if (s) {
      context.screen = { width: s.width, height: s.height, density: globalThis.devicePixelRatio };
    }
    if (typeof navigator !== 'undefined') {
      context.locale = navigator.language;
      context.userAgent = navigator.userAgent;
    }
    return {
      context,
      timezoneOffsetMin: -new Date().getTimezoneOffset(),
      libraryName: 'maidian-web',
    };
  },
});
const { api, input } = createClient(host);

const init = (options) => {
  api.init(options);
  if (api.status() !== 'loading' || typeof document === 'undefined') return;
  try {
    const opts = { path: location.pathname, query: {} };
    input.appLaunch(opts);
    input.appShow(opts);
    input.pageShow({ path: location.pathname, query: {}, title: document.title });
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'hidden') input.appHide();
      else input.appShow(opts);
    });
  } catch (err) {
    input.internal('web init', err);
  }
};
api.init = init;

export default api;
export const {
  track,
  identify,
  register,
  unregister,
  consent,
  flush,
  reset,
  ready,
  status,
  inspect,
} = api;
export { init, wasm };
