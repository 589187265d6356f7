/**
 * The platform-independent half of the wrapper: the queue of calls made before the core is
 * ready and the executor of the core's effects, under the public API object of
 * ./public-api.mjs (argument checks and guards, shared with the browser entry).
 *
 * The core (Rust, sans-IO) makes every decision; this file only moves data: each API call or
 * hook becomes one core input `(core, now) => core.x(now, ...)`, stamped with the host time at
 * the moment of the call, then every effect the core asks for is executed in order:
 *
 * | effect    | executed with                                                            |
 * |-----------|--------------------------------------------------------------------------|
 * | `persist` | the host's SYNCHRONOUS storage, before anything else happens; a refused write goes back through `persistFailed` |
 * | `remove`  | the same                                                                 |
 * | `send`    | the host's request (binary body); its outcome goes back through `sent`    |
 * | `wakeAt`  | one timer, replaced by every new `wakeAt`; it calls `tick(now)`; `at: null` cancels it |
 * | `log`     | `console.warn` (warn) / `console.debug` (debug, only with `debug: true`)   |
 *
 * Guarantees to the host app: nothing here throws into the caller (every entry point is
 * guarded); calls made before the core is ready are applied in order, with their original
 * times, once it is; if the core cannot start, the SDK logs one `console.error` and becomes a
 * no-op for the rest of the run.
 *
 * The host object (`host`) is the platform adapter: see ./miniprogram/host.mjs for the fields.
 */

import { createPublicApi, TAG } from './public-api.mjs';

/** Calls kept while the core loads; beyond this the oldest are dropped (and counted). */
export const MAX_CALLS_BEFORE_READY = 1000;
/** The raw platform events the hooks report, named as the core inputs they become. */
const HOOK_INPUTS = 'appLaunch appShow appHide pageShow pageHide tap exposure share'.split(' ');
/** The longest delay setTimeout accepts. */
const MAX_TIMER_MS = 2147483647;

/**
 * `init` options copied to the core configuration when set, as `group.key.coreKey` (`group`
 * empty: a top-level option). One string: the shortest form in the minified bundle.
 */
const OPTION_KEYS = (
  'batch.size.flushAt batch.intervalMs.flushIntervalMs batch.maxEvents.maxBatchEvents ' +
  'batch.gzip.gzip batch.timeoutMs.requestTimeoutMs exposure.ratio.exposureRatio ' +
  'exposure.dwellMs.exposureDwellMs exposure.frequency.exposureFrequency ' +
  'share.augment.shareAugment .datasetAllow.datasetAllow .storagePrefix.storagePrefix'
).split(' ');

/**
 * Maps the public `init` options to the core's configuration (sdk-wasm/src/core/config.rs,
 * camelCase). Unknown core knobs can be passed through `options.core`. The core validates the
 * configuration again when it starts; these checks run before the wasm is loaded, so a wrong
 * `init` fails at once, with the option's public name.
 * @param {object} options the `init` options
 * @param {{context?: object, timezoneOffsetMin?: number, libraryName?: string}} hostContext the
 *   host's static context fields, copied into the configuration as they are
 * @returns {{config?: object, error?: string}}
 */
export function coreConfig(options, hostContext) {
  const o = options || {};
  const error = (e) => ({ error: `init: ${e}` });
  if (!/^https?:\/\//.test(o.serverUrl)) return error('`serverUrl` must be an http(s) URL');
  if (typeof o.writeKey !== 'string' || !o.writeKey) return error('`writeKey` is required');
  if (o.consent !== undefined && o.consent !== 'granted' && o.consent !== 'pending') {
    return error("`consent` must be 'granted' or 'pending'");
  }
  // The core applies the defaults (every switch on) and the `app` rule (`app` switches the
  // three app events at once, `appLaunch` / `appShow` / `appHide` override it one by one); the
  // wrapper only reads `false` as off and anything else as on.
  const autotrack = {};
  for (const k of Object.keys(o.autoTrack || {})) autotrack[k] = o.autoTrack[k] !== false;
  const config = Object.assign(
    {
      writeKey: o.writeKey,
      endpoint: o.serverUrl,
      consentRequired: o.consent === 'pending',
      debug: o.debug === true,
      autotrack,
    },
    hostContext,
  );
  for (const entry of OPTION_KEYS) {
    const [group, key, coreKey] = entry.split('.');
    // `Object(x)`: an absent or non-object group reads as empty.
    const value = (group ? Object(o[group]) : o)[key];
    if (value !== undefined) config[coreKey] = value;
  }
  Object.assign(config, o.core);
  return { config };
}

/**
 * @param {object} host the platform adapter (see ./miniprogram/host.mjs)
 * @returns the client: `api` (public methods) and `input` (raw events for the hooks)
 */
export function createClient(host) {
  const console_ = host.console;
  /** idle -> loading -> ready | disabled */
  let state = 'idle';
  let core = null;
  let debug = false;
  let options = null;
  /** [fn(core, now), now] in call order. */
  let queue = [];
  let droppedBeforeReady = 0;
  let timer = null;
  let draining = false;
  let requestTimeoutMs = 60000;
  let internalErrors = 0;
  const readyWaiters = [];

  function internal(where, err) {
    // One line per kind of failure is enough; never flood the console of the host app.
    if (++internalErrors <= 3) console_.error(`${TAG} internal error in ${where} (ignored):`, err);
  }

  function stopTimer() {
    if (timer !== null) host.clearTimeout(timer);
    timer = null;
  }

  function disable(reason, err) {
    if (state === 'disabled') return;
    state = 'disabled';
    core = null;
    queue = [];
    stopTimer();
    console_.error(
      `${TAG} ${reason}; no-op mode for this run (every call is ignored; the app keeps working)`,
      err === undefined ? '' : err,
    );
    settleWaiters();
  }

  function settleWaiters() {
    for (const w of readyWaiters.splice(0)) w(state === 'ready');
  }

  /** A wasm trap (panic=abort, out of memory) poisons the instance; anything else does not. */
  function coreFailed(err) {
    if (err && (err.name === 'RuntimeError' || /unreachable/.test(String(err.message)))) {
      disable('the SDK core crashed', err);
    } else {
      internal('the SDK core', err);
    }
  }

  /** Applies one input now: the call, then every effect it produced. */
  function apply(fn, now) {
    try {
      fn(core, now);
    } catch (err) {
      coreFailed(err);
      return;
    }
    drain();
  }

  /** Queues or applies `fn(core, now)` with the current host time. Never throws. */
  function submit(fn) {
    try {
      if (state === 'disabled') return;
      const now = host.now();
      if (state === 'ready') {
        apply(fn, now);
        return;
      }
      if (queue.length >= MAX_CALLS_BEFORE_READY) {
        queue.shift();
        droppedBeforeReady += 1;
      }
      queue.push([fn, now]);
    } catch (err) {
      internal('submit', err);
    }
  }

  function drain() {
    if (draining || !core) return;
    draining = true;
    try {
      for (;;) {
        let effects;
        try {
          effects = core.pollEffects() || [];
        } catch (err) {
          coreFailed(err);
          return;
        }
        if (!effects.length) return;
        for (const effect of effects) {
          try {
            execute(effect);
          } catch (err) {
            internal('effect', err);
          }
          if (!core) return;
        }
      }
    } finally {
      draining = false;
    }
  }

  function execute(effect) {
    switch (effect.type) {
      case 'persist':
        // Refused (quota, per-key limit): the core keeps those events in memory, sends them
        // soon, writes them again after the next delivery, and logs the warning.
        if (!host.storage.set(effect.key, effect.value)) {
          submit((c, now) => c.persistFailed(now, effect.key));
        }
        break;
      case 'remove':
        host.storage.remove(effect.key);
        break;
      case 'send':
        send(effect);
        break;
      case 'wakeAt':
        wakeAt(effect.at);
        break;
      case 'log':
        if (effect.level === 'warn') console_.warn(TAG, effect.message);
        else if (debug) console_.debug(TAG, effect.message);
        break;
      default:
        throw new Error(`unknown effect ${effect.type}`);
    }
  }

  function send(effect) {
    const owner = core;
    let done = false;
    /** The request's outcome, once, and only to the core that asked for it. */
    const finish = (status, retryAfter) => {
      if (!done && core === owner) {
        submit((c, now) => c.sent(now, effect.batchId, status, retryAfter));
      }
      done = true;
    };
    if (debug) console_.debug(`${TAG} send batch ${effect.batchId}: ${effect.events} events`);
    try {
      // The host reads `url`, `body`, `headers` and `timeoutMs` (and ignores the other fields).
      host.request(Object.assign({ timeoutMs: requestTimeoutMs }, effect), finish);
    } catch (err) {
      internal('request', err);
      finish(0);
    }
  }

  function wakeAt(at) {
    stopTimer();
    // `at: null`: nothing is due, no timer (a Node process may exit).
    if (typeof at !== 'number') return;
    const arm = () => {
      timer = host.setTimeout(
        () => {
          timer = null;
          // A timer may fire a little early (clock adjustments); the core announces a wake-up
          // only once, so re-arm for the remainder instead of ticking too soon.
          if (host.now() < at) arm();
          else submit((c, now) => c.tick(now));
        },
        Math.min(Math.max(0, at - host.now()), MAX_TIMER_MS),
      );
    };
    arm();
  }

  function start(factory, entropy, initAt) {
    const { config } = coreConfig(options, host.context());
    requestTimeoutMs = config.requestTimeoutMs || requestTimeoutMs;
    const first = queue.length ? Math.min(queue[0][1], initAt) : initAt;
    // 'md_': the core's default prefix (config.rs); the host reads only the keys under it.
    const stored = host.storage.entries(config.storagePrefix || 'md_');
    core = factory(config, { now: first, entropy, stored });
    state = 'ready';
    drain();
    const calls = queue;
    queue = [];
    for (const [fn, now] of calls) {
      if (state !== 'ready') break;
      apply(fn, now);
    }
    if (droppedBeforeReady) {
      console_.warn(
        `${TAG} ${droppedBeforeReady} calls made before the SDK was ready were dropped`,
      );
    }
    // Network type and its changes are platform state the core keeps in the context.
    host.watchNetwork((kind) => submit((c, now) => c.setNetwork(now, kind)));
    settleWaiters();
  }

  function init(opts) {
    try {
      if (state !== 'idle') {
        console_.warn(`${TAG} init() was already called; ignored`);
        return;
      }
      const checked = coreConfig(opts, {});
      if (checked.error) {
        disable(checked.error);
        return;
      }
      options = opts;
      debug = opts.debug === true;
      state = 'loading';
      const initAt = host.now();
      Promise.all([host.loadCore(opts), host.randomBytes(32)])
        .then(([factory, entropy]) => {
          if (state !== 'loading') return;
          // Without one, event ids could collide across devices: never `Math.random`.
          if (!entropy || entropy.length < 16) {
            disable('no cryptographic random source (getRandomValues) on this host');
            return;
          }
          try {
            start(factory, entropy, initAt);
          } catch (err) {
            disable('the SDK core could not start', err);
          }
        })
        .catch((err) => disable('the SDK could not be loaded', err));
    } catch (err) {
      disable('init failed', err);
    }
  }

  const api = createPublicApi({
    init,
    submit,
    internal,
    console: console_,
    status: () => state,
    whenSettled: (resolve) => {
      readyWaiters.push(resolve);
      if (state === 'ready' || state === 'disabled') settleWaiters();
    },
    core: () => core,
  });

  /** Raw platform events for the hooks; each is one core input. */
  const input = {
    /** The share path with the share chain when the core says so; `path` until it is ready. */
    sharePath: (path, method) => {
      if (state !== 'ready') return path;
      try {
        return core.sharePath(path, method);
      } catch (err) {
        coreFailed(err);
        return path;
      }
    },
    /** The init options once `init` was called (hooks read their own settings from it). */
    options: () => options,
    internal,
  };
  // `input.appLaunch(opts)` -> `core.appLaunch(now, opts)`, ...; appHide / pageHide take no
  // argument (the core ignores the `undefined`).
  for (const name of HOOK_INPUTS) {
    input[name] = (arg) => submit((c, now) => c[name](now, arg));
  }

  return { api, input };
}
