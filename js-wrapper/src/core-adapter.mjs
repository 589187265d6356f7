/**
 * The typed core interface the client drives, over the one generic entry point of the wasm
 * bindings (sdk-wasm/src/bindings.rs):
 *
 * - `new Maidian(JSON.stringify([config, now, stored]), entropy)` where `stored` is `{key: value}`;
 * - `m.call(op, JSON.stringify(args))` runs operation number `op` (its name is `OPS[op]`, the
 *   order of `Op::ALL` in sdk-wasm/src/bindings/ops.rs) and returns the reply text: one line of
 *   JSON `[result, ...effects]`, a newline, then the values of the `persist` effects verbatim
 *   (each effect's `value` in the head is its length in UTF-16 code units);
 * - `m.body()` returns the `Uint8Array` body of the oldest `send` effect not fetched yet.
 *
 * Every operation's effects (sdk-wasm/src/core/effects.rs) are buffered here until the client
 * drains them with `pollEffects()`, in order. Kept in one place so a change in the bindings
 * touches only this file.
 */

/**
 * The operations of `Maidian#call`, by number (sdk-wasm/src/bindings/ops.rs, `Op::ALL`: same
 * names, same order; test/core-adapter.test.mjs checks it against the built wasm). Inputs take
 * the host time first where they take one; the last six are queries with a result.
 */
export const OPS = [
  'takeEffects',
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
  'sharePath',
  'consent',
  'anonymousId',
  'userId',
  'sessionId',
  'stats',
];

/**
 * The reply text of `Maidian#call` as `[result, ...effects]`: `persist` values sliced from the
 * tail, `send` bodies fetched with `body()`.
 * @param {{body(): Uint8Array}} m
 * @param {string} text
 * @returns {any[]}
 */
export function decode(m, text) {
  const nl = text.indexOf('\n');
  const out = JSON.parse(text.slice(0, nl));
  let at = nl + 1;
  for (let i = 1; i < out.length; i++) {
    const e = out[i];
    if (e.type === 'persist') {
      const end = at + e.value;
      e.value = text.slice(at, end);
      at = end;
    } else if (e.type === 'send') {
      e.body = m.body();
    }
  }
  return out;
}

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
    const m = new Maidian(JSON.stringify([config, init.now, stored]), init.entropy);
    let buffered = [];
    /** Runs operation `op`, buffers its effects and returns its result (`null` as `undefined`). */
    const call = (op, args) => {
      const out = decode(m, m.call(op, JSON.stringify(args)));
      for (let i = 1; i < out.length; i++) buffered.push(out[i]);
      return out[0] ?? undefined;
    };
    const core = {
      pollEffects() {
        call(0, []);
        const out = buffered;
        buffered = [];
        return out;
      },
    };
    for (let op = 1; op < OPS.length; op++) {
      core[OPS[op]] = (...args) => call(op, args);
    }
    return core;
  };
}
