/**
 * A small JS double of the wasm core with the bindings' contract (sdk-wasm/src/bindings.rs):
 * `new Maidian(JSON.stringify([config, now, stored]), entropy)`, `call(op, now, argsJson)`
 * returning the reply text (result, effects, persisted values), `body()`. The double itself (`FakeCore`)
 * has one method per operation returning its effects; `Maidian` only speaks the text protocol
 * over it. It follows the effect shapes of sdk-wasm/src/core/effects.rs and writes messages the
 * collector accepts, but implements only the rules the wrapper tests need (no dwell, no
 * backoff growth, no gzip): the wrapper, not the core, is under test here.
 *
 * Test hooks: `Maidian.instances` (every `FakeCore` made), `Maidian.throwOn` (an input name that
 * throws, to test that the host app survives an SDK failure).
 */
import { OPS, UNTIMED } from '../../../js-wrapper/src/core-adapter.mjs';
import { TextEncoder } from '../../../js-wrapper/src/text-codec.mjs';

const encoder = new TextEncoder();
/** The operations with a result (the others return their effects). */
const QUERIES = new Set(['sharePath', 'consent', 'anonymousId', 'userId', 'sessionId', 'stats']);

/** The bindings' text protocol (sdk-wasm/src/bindings/wire.rs) over a `FakeCore`. */
export class Maidian {
  constructor(args, entropy) {
    const [config, now, stored] = JSON.parse(args);
    this.core = new FakeCore(config, now, entropy, stored);
    this.bodies = [];
  }

  call(op, now, args) {
    const name = OPS[op];
    // As the bindings: `null` (the host's `undefined` after JSON) is an absent argument.
    const list = JSON.parse(args).map((a) => a ?? undefined);
    const result = UNTIMED.has(name) ? this.core[name](...list) : this.core[name](now, ...list);
    const query = QUERIES.has(name);
    const head = [query ? (result ?? null) : null];
    let tail = '';
    /** A text field: its length in the head, its text in the tail. */
    const text = (t) => {
      head.push(t.length);
      tail += t;
    };
    for (const e of query ? [] : result) {
      if (e.type === 'persist') {
        head.push(0);
        text(e.key);
        text(e.value);
      } else if (e.type === 'remove') {
        head.push(1);
        text(e.key);
      } else if (e.type === 'send') {
        head.push(2, e.batchId);
        text(e.url);
        head.push(e.headers, e.events);
        this.bodies.push(e.body);
      } else if (e.type === 'wakeAt') {
        head.push(3, e.at);
      } else {
        head.push(4, e.level);
        text(e.message);
      }
    }
    return `${JSON.stringify(head)}\n${tail}`;
  }

  body() {
    return this.bodies.shift();
  }
}

class FakeCore {
  constructor(config, now, entropy, stored) {
    if (!config?.writeKey) throw new Error('invalid config: writeKey is required');
    if (!(entropy && entropy.length >= 16))
      throw new Error('at least 16 random bytes are required');
    Maidian.instances.push(this);
    this.config = config;
    this.prefix = config.storagePrefix || 'md_';
    this.effects = [];
    this.calls = [];
    this.seed = Array.from(entropy.slice(0, 16));
    this.counter = 0;
    const consent = stored[`${this.prefix}consent`];
    this.consentState =
      consent === 'granted' || consent === 'denied'
        ? consent
        : config.consentRequired
          ? 'pending'
          : 'granted';
    const state = stored[`${this.prefix}state`];
    this.state = state ? JSON.parse(state) : { anonymousId: null, userId: null, superProps: {} };
    this.chunks = new Map();
    for (const [k, v] of Object.entries(stored)) {
      const m = new RegExp(`^${this.prefix}q(\\d+)$`).exec(k);
      if (m) this.chunks.set(Number(m[1]), v.split('\n').filter(Boolean));
    }
    this.seq = Math.max(0, ...this.chunks.keys()) + 1;
    this.pending = [];
    this.group = [];
    this.inFlight = null;
    this.batchId = 0;
    this.flushRequested = this.chunks.size > 0;
    this.page = null;
    this.lastPath = null;
    this.exposed = new Set();
    this.wake = null;
    this.notBefore = 0;
    this.mono = now;
    if (this.consentState === 'granted') this.ensureId();
    this.finish(now);
  }

  uuid() {
    this.counter += 1;
    const b = this.seed.map(
      (x, i) => (x * 31 + this.counter * (i + 7) + ((this.counter >> 8) ^ i)) & 255,
    );
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = b.map((x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  ensureId() {
    if (!this.state.anonymousId) {
      this.state.anonymousId = this.uuid();
      this.saveState();
    }
  }

  saveState() {
    if (this.consentState === 'granted') {
      this.effects.push({
        type: 'persist',
        key: `${this.prefix}state`,
        value: JSON.stringify(this.state),
      });
    }
  }

  take() {
    const out = this.effects;
    this.effects = [];
    return out;
  }

  input(name, now, fn) {
    if (Maidian.throwOn === name) throw new Error(`fake core: ${name} failed`);
    this.calls.push([name, now]);
    this.ts = now;
    this.mono = Math.max(this.mono, now);
    fn();
    this.finish(now);
    return this.take();
  }

  record(type, name, props) {
    if (this.consentState === 'denied') return;
    const auto = this.config.autotrack || {};
    const msg = {
      messageId: this.uuid(),
      type,
      ...(type === 'track' ? { event: name } : {}),
      ...(type === 'page' ? { name } : {}),
      anonymousId: this.state.anonymousId || undefined,
      userId: this.state.userId || undefined,
      timestamp: new Date(this.ts).toISOString(),
      context: {
        library: { name: this.config.libraryName, version: '0.0.0-fake' },
        page: this.page ? { path: this.page.path } : undefined,
      },
      properties: { ...this.state.superProps, ...props },
    };
    void auto;
    if (this.consentState === 'pending') this.pending.push(msg);
    else this.group.push(JSON.stringify(msg));
  }

  finish(now) {
    if (this.group.length) {
      const key = `${this.prefix}q${this.seq}`;
      this.chunks.set(this.seq, this.group);
      this.seq += 1;
      this.effects.push({ type: 'persist', key, value: this.group.join('\n') });
      this.group = [];
    }
    if (this.consentState !== 'granted') return;
    const queued = [...this.chunks.values()].reduce((n, c) => n + c.length, 0);
    const flushAt = this.config.flushAt || 50;
    if (
      !this.inFlight &&
      queued > 0 &&
      (this.flushRequested || queued >= flushAt) &&
      now >= this.notBefore
    ) {
      const seqs = [...this.chunks.keys()];
      const events = seqs.flatMap((s) => this.chunks.get(s));
      this.batchId += 1;
      this.inFlight = { id: this.batchId, seqs };
      this.flushRequested = false;
      const body = `{"batch":[${events.join(',')}],"sentAt":"${new Date(now).toISOString()}"}`;
      this.effects.push({
        type: 'send',
        batchId: this.batchId,
        url: `${this.config.endpoint.replace(/\/$/, '')}/v1/batch`,
        body: encoder.encode(body),
        headers: { 'Content-Type': 'application/json', 'X-Write-Key': this.config.writeKey },
        events: events.length,
      });
    }
    const interval = this.config.flushIntervalMs || 10000;
    const wake = !this.inFlight && queued > 0 ? Math.max(now + interval, this.notBefore) : null;
    if (wake !== null && wake !== this.wake) this.effects.push({ type: 'wakeAt', at: wake });
    this.wake = wake;
  }

  takeEffects() {
    return this.take();
  }

  track(now, name, properties) {
    return this.input('track', now, () => {
      if (name.startsWith('$')) {
        this.effects.push({
          type: 'log',
          level: 'warn',
          message: `track(${JSON.stringify(name)}) refused`,
        });
      } else this.record('track', name, properties || {});
    });
  }
  page(now, name, properties) {
    return this.input('page', now, () => this.record('page', name, properties || {}));
  }
  identify(now, userId, traits) {
    return this.input('identify', now, () => {
      if (userId) this.state.userId = userId;
      this.saveState();
      this.record('identify', '', {});
      void traits;
    });
  }
  alias(now) {
    return this.input('alias', now, () => {});
  }
  reset(now) {
    return this.input('reset', now, () => {
      this.state = { anonymousId: null, userId: null, superProps: {} };
      if (this.consentState === 'granted') this.ensureId();
    });
  }
  register(properties) {
    return this.input('register', this.ts, () => {
      Object.assign(this.state.superProps, properties);
      this.saveState();
    });
  }
  unregister(key) {
    return this.input('unregister', this.ts, () => {
      delete this.state.superProps[key];
      this.saveState();
    });
  }
  registerRun(properties) {
    return this.register(properties);
  }
  grant(now) {
    return this.input('grant', now, () => {
      this.consentState = 'granted';
      this.effects.push({ type: 'persist', key: `${this.prefix}consent`, value: 'granted' });
      this.ensureId();
      for (const m of this.pending.splice(0)) {
        m.anonymousId = m.anonymousId || this.state.anonymousId;
        this.group.push(JSON.stringify(m));
      }
    });
  }
  deny(now) {
    return this.input('deny', now, () => {
      this.consentState = 'denied';
      this.pending = [];
      for (const s of this.chunks.keys())
        this.effects.push({ type: 'remove', key: `${this.prefix}q${s}` });
      this.chunks.clear();
      this.effects.push({ type: 'remove', key: `${this.prefix}state` });
      this.effects.push({ type: 'persist', key: `${this.prefix}consent`, value: 'denied' });
    });
  }
  appLaunch(now, options) {
    return this.input('appLaunch', now, () => {
      this.launch = options;
      this.record('track', '$app_launch', { path: options.path, scene: options.scene });
      this.flushRequested = true;
    });
  }
  appShow(now, options) {
    return this.input('appShow', now, () => {
      this.shownAt = now;
      this.record('track', '$app_show', { scene: options.scene });
      this.flushRequested = true;
    });
  }
  appHide(now) {
    return this.input('appHide', now, () => {
      this.record('track', '$app_hide', { duration_ms: now - (this.shownAt ?? now) });
      this.flushRequested = true;
    });
  }
  leave(now) {
    if (!this.page) return;
    this.record('track', '$page_leave', { path: this.page.path, duration_ms: now - this.page.at });
    this.lastPath = this.page.path;
    this.page = null;
  }
  pageShow(now, view) {
    return this.input('pageShow', now, () => {
      this.leave(now);
      this.exposed = new Set();
      this.page = { path: view.path, at: now };
      this.record('page', view.path, { query: view.query, referrer: this.lastPath || undefined });
    });
  }
  pageHide(now) {
    return this.input('pageHide', now, () => this.leave(now));
  }
  tap(now, tap) {
    return this.input('tap', now, () => {
      const props = { element_type: tap.kind || 'tap', handler: tap.handler };
      if (tap.elementId) props.element_id = tap.elementId;
      for (const [k, v] of Object.entries(tap.dataset || {})) if (k.startsWith('md')) props[k] = v;
      this.record('track', '$click', props);
    });
  }
  exposure(now, entries) {
    return this.input('exposure', now, () => {
      for (const e of entries) {
        if (e.ratio < (this.config.exposureRatio || 0.5) || this.exposed.has(e.key)) continue;
        this.exposed.add(e.key);
        const props = { element_key: e.key, ratio: e.ratio };
        for (const [k, v] of Object.entries(e.dataset || {}))
          if (k.startsWith('md') && k !== 'mdKey') props[k] = v;
        this.record('track', '$exposure', props);
      }
    });
  }
  share(now, input) {
    return this.input('share', now, () =>
      this.record('track', '$share', {
        method: input.method,
        from: input.from,
        path: input.path,
        share_depth: 1,
      }),
    );
  }
  sharePath(path, method) {
    if (!this.config.shareAugment || this.consentState !== 'granted') return path;
    return `${path}${path.includes('?') ? '&' : '?'}md_sharer=${this.state.anonymousId}&md_depth=1&md_method=${method}`;
  }
  setNetwork(now, kind) {
    return this.input('setNetwork', now, () => {
      this.network = kind;
    });
  }
  flush(now) {
    return this.input('flush', now, () => {
      this.flushRequested = true;
    });
  }
  tick(now) {
    return this.input('tick', now, () => {
      this.flushRequested = true;
    });
  }
  sent(now, batchId, status, retryAfter) {
    return this.input('sent', now, () => {
      this.outcomes = this.outcomes || [];
      this.outcomes.push({ batchId, status, retryAfter });
      if (!this.inFlight || this.inFlight.id !== batchId) return;
      const { seqs } = this.inFlight;
      this.inFlight = null;
      if (status >= 200 && status < 300) {
        for (const s of seqs) {
          this.chunks.delete(s);
          this.effects.push({ type: 'remove', key: `${this.prefix}q${s}` });
        }
      } else {
        this.notBefore = now + (retryAfter !== undefined ? retryAfter * 1000 : 2000);
      }
    });
  }
  persistFailed(now, key) {
    // The real core counts the failure and reports it; the double only records the key.
    return this.input('persistFailed', now, () => {
      this.persistFailures = this.persistFailures || [];
      this.persistFailures.push(key);
    });
  }
  consent() {
    return this.consentState;
  }
  anonymousId() {
    return this.state.anonymousId || undefined;
  }
  userId() {
    return this.state.userId || undefined;
  }
  sessionId() {
    return undefined;
  }
  stats() {
    return {
      queueLen: [...this.chunks.values()].reduce((n, c) => n + c.length, 0),
      pendingLen: this.pending.length,
    };
  }
}
Maidian.instances = [];
Maidian.throwOn = null;
