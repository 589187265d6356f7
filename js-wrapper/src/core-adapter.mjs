/**
 * Adapts the wasm-bindgen exports of sdk-wasm (src/bindings.rs) to the core interface the
 * client drives.
 *
 * The bindings' contract: `new Maidian(config, now, entropy, stored)` where `stored` is
 * `{key: value}`; every input method takes the host time first and RETURNS the effects it
 * produced (sdk-wasm/src/core/effects.rs); `takeEffects()` returns any not yet taken (start-up).
 * The client wants `pollEffects()` instead, so the returned effects are buffered here until the
 * client drains them, in order. Kept in one place so a change in the bindings touches only this
 * file.
 */

/** Inputs that return effects, with the arguments the client passes (host time first when taken). */
const INPUTS = [
  'track',
  'page',
  'identify',
  'alias',
  'reset',
  'register',
  'unregister',
  'registerRun',
  'grant',
  'deny',
  'appLaunch',
  'appShow',
  'appHide',
  'pageShow',
  'pageHide',
  'tap',
  'exposure',
  'share',
  'setNetwork',
  'flush',
  'tick',
  'sent',
  'persistFailed',
];

/**
 * @param {object} glue the wasm-bindgen module exports, after the wasm is instantiated
 * @returns {(config: object, init: {now: number, entropy: Uint8Array, stored: [string, string][]}) => object}
 */
export function coreFactory(glue) {
  const Maidian = glue.Maidian;
  if (typeof Maidian !== 'function') {
    throw new Error('this build of the wasm has no SDK core (no `Maidian` export in the bindings)');
  }
  return (config, init) => {
    const stored = {};
    for (const [key, value] of init.stored) stored[key] = value;
    const m = new Maidian(config, init.now, init.entropy, stored);
    let buffered = [];
    const core = {
      pollEffects() {
        const out = buffered;
        buffered = [];
        const more = m.takeEffects();
        return more?.length ? out.concat(more) : out;
      },
      sharePath: (path, method) => m.sharePath(path, method),
      consent: () => m.consent(),
      anonymousId: () => m.anonymousId(),
      userId: () => m.userId(),
      sessionId: () => m.sessionId(),
      stats: () => m.stats(),
    };
    for (const name of INPUTS) {
      core[name] = (...args) => {
        const effects = m[name](...args);
        if (effects?.length) {
          for (const e of effects) buffered.push(e);
        }
      };
    }
    return core;
  };
}
