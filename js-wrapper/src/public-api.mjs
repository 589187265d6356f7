/**
 * The public API object every entry exports (`init`, `track`, `identify`, `register`,
 * `unregister`, `consent`, `flush`, `reset`, `ready`, `status`, `inspect`; typed in
 * js-wrapper/index.d.ts): argument checks, input snapshots and guards, in one place for the
 * effect-executing client (./client.mjs: mini-program, Node) and the browser entry
 * (./web/index.mjs, whose effects run in Rust).
 *
 * It owns no state. Each entry passes its own `submit` (apply now, or queue while the core
 * loads) and its state accessors; every call becomes one `submit((core, now) => ...)`, so the
 * queue-while-loading behaviour of each entry is unchanged. Nothing here throws into the caller.
 */

export const TAG = '[maidian]';

/**
 * A JSON-safe deep copy of `value` taken at call time (the app may mutate its object later),
 * or `undefined` when it cannot be represented (cycles, BigInt, not a plain object).
 */
export function snapshot(value) {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) return undefined;
  try {
    return JSON.parse(JSON.stringify(value));
  } catch (_) {
    return undefined;
  }
}

/**
 * @param {object} entry
 * @param {(options: object) => void} entry.init the entry's `init` (guarded here)
 * @param {(fn: (core: any, now: number) => void) => void} entry.submit applies `fn` with the
 *   call's time now, or keeps it until the core runs
 * @param {(where: string, err: unknown) => void} entry.internal reports a caught error
 * @param {{ warn: (...args: unknown[]) => void }} entry.console where argument warnings go
 * @param {() => string} entry.status `idle`, `loading`, `ready` or `disabled`
 * @param {(resolve: (ready: boolean) => void) => void} entry.whenSettled calls `resolve` once
 *   the state is `ready` or `disabled`
 * @param {() => any} entry.core the running core (or browser host) while `ready`
 * @param {boolean} [entry.timedRegistry] `register` / `unregister` take the time first (the
 *   browser host's `WebHost`; the core bindings' `Maidian` does not)
 */
export function createPublicApi(entry) {
  const { submit, internal, status } = entry;
  const out = entry.console;
  const timed = entry.timedRegistry === true;

  /** Guards a public method: never throws into the app or page. */
  const guarded =
    (name, fn) =>
    (...args) => {
      try {
        return fn(...args);
      } catch (err) {
        internal(name, err);
        return undefined;
      }
    };

  /** A method whose only argument to the core is the time: `core[input](now)`. */
  const timeOnly = (input) => guarded(input, () => submit((c, now) => c[input](now)));

  /** `core[op](now, arg)` (timed registry) or `core[op](arg)`. */
  const registry = (op, arg) => submit((c, now) => (timed ? c[op](now, arg) : c[op](arg)));

  /** A call-time copy of `value`, or `undefined` (and a warning) when it is no JSON object. */
  function props(name, value) {
    const p = snapshot(value);
    if (p === undefined) out.warn(`${TAG} ${name}: properties must be a JSON object; ignored`);
    return p;
  }

  return {
    init: guarded('init', entry.init),
    track: guarded('track', (name, properties) => {
      const p = props('track', properties);
      if (p === undefined) return;
      if (typeof name !== 'string') {
        out.warn(`${TAG} track: the event name must be a string; ignored`);
        return;
      }
      submit((c, now) => c.track(now, name, p));
    }),
    identify: guarded('identify', (userId, traits) => {
      const t = props('identify', traits);
      if (t === undefined) return;
      const id = userId == null ? null : String(userId);
      submit((c, now) => c.identify(now, id, t));
    }),
    register: guarded('register', (properties) => {
      const p = props('register', properties);
      if (p !== undefined) registry('register', p);
    }),
    unregister: guarded('unregister', (key) => {
      if (typeof key === 'string') registry('unregister', key);
    }),
    consent: { grant: timeOnly('grant'), deny: timeOnly('deny') },
    flush: timeOnly('flush'),
    reset: timeOnly('reset'),
    /**
     * Resolves `true` once the core runs, `false` if the SDK is (or becomes) disabled. Never
     * rejects. For tests and for apps that want to know; nothing needs to wait for it.
     */
    ready: () => new Promise(entry.whenSettled),
    /** `idle` (no init yet), `loading`, `ready` or `disabled`. */
    status,
    /** The core's view (consent, ids, counters) once ready; `null` before. For debugging. */
    inspect: guarded('inspect', () => {
      if (status() !== 'ready') return null;
      const c = entry.core();
      const view = {};
      for (const k of 'consent anonymousId userId sessionId stats'.split(' ')) view[k] = c[k]();
      return view;
    }),
  };
}
