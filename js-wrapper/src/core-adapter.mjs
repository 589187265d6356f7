/**
 * The typed core interface the client drives, over the one generic entry point of the wasm
 * bindings (sdk-wasm/src/bindings.rs):
 *
 * - `new Maidian(JSON.stringify([config, now, stored]), entropy)` where `stored` is `{key: value}`;
 * - `m.call(op, now, JSON.stringify(args))` runs operation number `op` (its name is `OPS[op]`,
 *   the order of `Op::ALL` in sdk-wasm/src/bindings/ops.rs) at host time `now` with its other
 *   arguments, and returns the reply text: one line of JSON, the flat list
 *   `[result, kind, ...fields, kind, ...fields]` of the result and the effects (a text field as
 *   its UTF-16 length), a newline, then the texts verbatim (sdk-wasm/src/bindings/wire.rs has
 *   the table),
 *   or `!message` for an error (thrown here as an `Error`; a core that could not start answers
 *   every call so, the first being `takeEffects` right after `new`);
 * - `m.body()` returns the `Uint8Array` body of the oldest `send` effect not fetched yet.
 *
 * Every operation's effects (sdk-wasm/src/core/effects.rs), and the start-up ones taken right
 * after `new`, are buffered here until the client drains them with `pollEffects()`, in order.
 * Kept in one place so a change in the bindings touches only this file.
 */

/**
 * The operations of `Maidian#call`, by number (sdk-wasm/src/bindings/ops.rs, `Op::ALL`: same
 * names, same order; test/core-adapter.test.mjs checks it against the built wasm). Their JS
 * methods take the host time first unless listed in `UNTIMED`; the last six are queries with a
 * result. (Space-separated words: the shortest form in the minified bundle.)
 */
export const OPS = (
  'takeEffects track page identify alias reset register unregister registerRun grant deny ' +
  'appLaunch appShow appHide pageShow pageHide tap exposure share setNetwork flush tick sent ' +
  'persistFailed sharePath consent anonymousId userId sessionId stats'
).split(' ');

/** The operations without a host time (`Op::timed` in sdk-wasm/src/bindings/ops.rs). */
export const UNTIMED = new Set(
  (
    'takeEffects register unregister registerRun ' +
    'sharePath consent anonymousId userId sessionId stats'
  ).split(' '),
);

/**
 * Decodes a reply text of `Maidian#call`: appends its effects to `effects` as the objects of
 * sdk-wasm/src/core/effects.rs (text fields sliced from the tail, `send` bodies fetched with
 * `body()`) and returns its result; throws the error of an error reply.
 * @param {{body(): Uint8Array}} m
 * @param {string} text
 * @param {object[]} effects
 * @returns {any}
 */
export function decode(m, text, effects) {
  if (text.charCodeAt(0) === 33) throw new Error(text.slice(1)); // `!message`
  const nl = text.indexOf('\n');
  const h = JSON.parse(text.slice(0, nl));
  let at = nl + 1;
  /** The next text field: `n` UTF-16 code units of the tail. */
  const next = (n) => {
    const start = at;
    at += n;
    return text.slice(start, at);
  };
  let i = 1;
  while (i < h.length) {
    switch (h[i]) {
      case 0:
        effects.push({ type: 'persist', key: next(h[i + 1]), value: next(h[i + 2]) });
        i += 3;
        break;
      case 1:
        effects.push({ type: 'remove', key: next(h[i + 1]) });
        i += 2;
        break;
      case 2:
        effects.push({
          type: 'send',
          batchId: h[i + 1],
          url: next(h[i + 2]),
          body: m.body(),
          headers: h[i + 3],
          events: h[i + 4],
        });
        i += 5;
        break;
      case 3:
        effects.push({ type: 'wakeAt', at: h[i + 1] });
        i += 2;
        break;
      case 4:
        effects.push({ type: 'log', level: h[i + 1], message: next(h[i + 2]) });
        i += 3;
        break;
      default:
        throw new Error(`unknown effect kind ${h[i]} in a reply of the wasm core`);
    }
  }
  return h[0];
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
    const call = (op, now, args) =>
      decode(m, m.call(op, now, JSON.stringify(args)), buffered) ?? undefined;
    // Effects arise only in operations, and every reply carries all of them: after the
    // start-up ones (`takeEffects`, now) nothing waits in the wasm, so polling does not cross.
    call(0, Number.NaN, []);
    const core = {
      pollEffects() {
        const out = buffered;
        buffered = [];
        return out;
      },
    };
    for (let op = 1; op < OPS.length; op++) {
      core[OPS[op]] = UNTIMED.has(OPS[op])
        ? (...args) => call(op, Number.NaN, args)
        : (now, ...args) => call(op, now, args);
    }
    return core;
  };
}
