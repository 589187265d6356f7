/**
 * The browser entry (`dist/web/index.js`, ESM for bundlers): a thin loader around the browser
 * host written in Rust (`WebHost`, sdk-wasm/src/web). The host owns every browser decision and
 * effect — page views from the history API, the document click listener, exposure through
 * `IntersectionObserver`, `fetch` / `sendBeacon`, `localStorage`, timers — so this file only:
 *
 * - maps the `init` options to the core configuration (`coreConfig`, shared with the other
 *   targets) and the host options (`web`, `exposure.className`);
 * - loads the wasm (`maidian_sdk_bg.wasm` next to this module, or `wasmPath`);
 * - keeps the calls made while it loads, with their times, and replays them in order;
 * - guards every public method (nothing throws into the page; a wasm trap disables the SDK).
 */
import { coreConfig, MAX_CALLS_BEFORE_READY } from '../client.mjs';
import { createPublicApi, TAG } from '../public-api.mjs';
import initWasm, * as wasm from './maidian_sdk.js';

/** The static context for the core: screen, locale, user agent. */
function hostContext() {
  const context = { miniProgram: { platform: 'web' } };
  if (typeof screen !== 'undefined') {
    context.screen = {
      width: screen.width,
      height: screen.height,
      density: globalThis.devicePixelRatio,
    };
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
}

/** The Rust host's own options (sdk-wasm/src/web/options.rs). */
export function hostOptions(options) {
  const web = options.web || {};
  const at = options.autoTrack || {};
  const out = {};
  if (web.clicks !== undefined) out.clicks = web.clicks;
  if (at.click === false) out.clicks = 'off';
  if (web.history !== undefined) out.history = web.history;
  const cls = options.exposure?.className;
  if (cls !== undefined) out.exposureClass = cls;
  if (at.exposure === false) out.exposureClass = '';
  return out;
}

/** idle -> loading -> ready | disabled */
let state = 'idle';
let host = null;
/** [fn(host, now), now] in call order, while the wasm loads. */
let queue = [];
let dropped = 0;
let internalErrors = 0;
const waiters = [];

function settle() {
  for (const w of waiters.splice(0)) w(state === 'ready');
}

function disable(reason, err) {
  if (state === 'disabled') return;
  state = 'disabled';
  host = null;
  queue = [];
  console.error(
    `${TAG} ${reason} — maidian is disabled for this run (no-op mode: every call is ignored; ` +
      'the page keeps working).',
    err === undefined ? '' : err,
  );
  settle();
}

function failed(where, err) {
  // A wasm trap (panic=abort, out of memory) poisons the instance; anything else does not.
  if (err && (err.name === 'RuntimeError' || /unreachable/.test(String(err.message)))) {
    disable('the SDK core crashed', err);
    return;
  }
  internalErrors += 1;
  if (internalErrors <= 3) console.error(`${TAG} internal error in ${where} (ignored):`, err);
}

function apply(fn, now) {
  try {
    fn(host, now);
  } catch (err) {
    failed('the SDK core', err);
  }
}

/** Applies `fn(host, now)` now, or keeps it until the host runs. Never throws. */
function submit(fn) {
  if (state === 'disabled') return;
  const now = Date.now();
  if (state === 'ready') {
    apply(fn, now);
    return;
  }
  if (queue.length >= MAX_CALLS_BEFORE_READY) {
    queue.shift();
    dropped += 1;
  }
  queue.push([fn, now]);
}

function start(options, initAt) {
  const { config } = coreConfig(options, hostContext());
  const first = queue.length > 0 ? Math.min(queue[0][1], initAt) : initAt;
  host = new wasm.WebHost(config, hostOptions(options), first);
  state = 'ready';
  host.launch(initAt);
  const calls = queue;
  queue = [];
  for (const [fn, now] of calls) {
    if (state !== 'ready') break;
    apply(fn, now);
  }
  if (dropped > 0)
    console.warn(`${TAG} ${dropped} calls made before the SDK was ready were dropped`);
  settle();
}

function initialize(options) {
  if (state !== 'idle') {
    console.warn(`${TAG} init() was already called; this call is ignored`);
    return;
  }
  const checked = coreConfig(options, { context: {} });
  if (checked.error) {
    disable(checked.error);
    return;
  }
  if (typeof window === 'undefined' || typeof document === 'undefined') {
    disable('this is the browser build; use `maidian/node` outside a browser');
    return;
  }
  state = 'loading';
  const initAt = Date.now();
  initWasm(options.wasmPath ? { module_or_path: options.wasmPath } : undefined)
    .then(() => {
      if (state !== 'loading') return;
      try {
        start(options, initAt);
      } catch (err) {
        disable('the SDK core could not start', err);
      }
    })
    .catch((err) => disable('the SDK could not be loaded', err));
}

const api = createPublicApi({
  init: initialize,
  submit,
  internal: failed,
  console,
  status: () => state,
  whenSettled: (resolve) => {
    if (state === 'ready' || state === 'disabled') resolve(state === 'ready');
    else waiters.push(resolve);
  },
  core: () => host,
  timedRegistry: true,
});

export default api;
export const {
  init,
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
export { wasm };
