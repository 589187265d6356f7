/**
 * The core adapter (src/core-adapter.mjs) over the real bindings of the Node build
 * (`dist/node`, run `cargo xtask build-sdk` first): the operation table agrees with the wasm's
 * (`Op::ALL` in sdk-wasm/src/bindings/ops.rs), replies decode into the effect objects of
 * sdk-wasm/src/core/effects.rs, and queries return their results.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { coreFactory, decode, OPS, UNTIMED } from '../src/core-adapter.mjs';

const nodeDist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/node');
const glue = createRequire(import.meta.url)(path.join(nodeDist, 'maidian_sdk.js'));
const CONFIG = { writeKey: 'wk', endpoint: 'https://t.example.com/v1/batch' };
const NOW = 1.7e12;
const start = (config = CONFIG, stored = []) =>
  coreFactory(glue)(config, { now: NOW, entropy: new Uint8Array(32).fill(7), stored });

describe('core adapter', () => {
  it('numbers the operations and knows their time arguments as the wasm does', () => {
    const m = new glue.Maidian(JSON.stringify([CONFIG, NOW, {}]), new Uint8Array(32).fill(7));
    OPS.forEach((name, op) => {
      // Wrong arguments: the wasm's error reply names the operation it ran.
      assert.equal(
        m.call(op, NOW, '{}'),
        `!${name}: the arguments are not a JSON array`,
        `operation ${op} is ${name}`,
      );
      // No time: refused exactly by the operations that take one.
      const refused = m.call(op, Number.NaN, '[]') === `!${name}: the host time is not a number`;
      assert.equal(refused, !UNTIMED.has(name), `${name} takes a time: ${refused}`);
    });
    assert.match(m.call(OPS.length, NOW, '[]'), /^!unknown operation/);
  });

  it('decodes a reply: persisted values by UTF-16 length, bodies in order', () => {
    const bodies = [new Uint8Array([1]), new Uint8Array([2])];
    const m = { body: () => bodies.shift() };
    const a = '{"e":"埋点🚀"}\n{"e":"\\"\\n"}';
    const texts = [
      ['md_q1', a],
      ['https://t/v1/batch'],
      ['md_state', ''],
      ['md_consent', 'granted'],
      ['md_q0'],
      ['w 埋点'],
      ['u'],
    ];
    const head = [
      'result',
      ...[0, 5, a.length],
      ...[2, 1, 18, { 'X-Write-Key': 'k' }, 3],
      ...[0, 8, 0],
      ...[0, 10, 7],
      ...[1, 5],
      ...[3, 1.5],
      ...[3, null],
      ...[4, 'warn', 4],
      ...[2, 2, 1, {}, 1],
    ];
    const tail = texts.flat().join('');
    const effects = [];
    assert.equal(decode(m, `${JSON.stringify(head)}\n${tail}`, effects), 'result');
    assert.deepEqual(effects, [
      { type: 'persist', key: 'md_q1', value: a },
      {
        type: 'send',
        batchId: 1,
        url: 'https://t/v1/batch',
        body: new Uint8Array([1]),
        headers: { 'X-Write-Key': 'k' },
        events: 3,
      },
      { type: 'persist', key: 'md_state', value: '' },
      { type: 'persist', key: 'md_consent', value: 'granted' },
      { type: 'remove', key: 'md_q0' },
      { type: 'wakeAt', at: 1.5 },
      { type: 'wakeAt', at: null },
      { type: 'log', level: 'warn', message: 'w 埋点' },
      { type: 'send', batchId: 2, url: 'u', body: new Uint8Array([2]), headers: {}, events: 1 },
    ]);
    assert.throws(() => decode(m, '[null,9]\n', []), /unknown effect kind 9/);
    assert.throws(() => decode(m, '!track: no', []), /^Error: track: no$/);
  });

  it('turns operations into buffered effect objects and queries into results', () => {
    const core = start();
    assert.equal(core.consent(), 'granted');
    assert.equal(core.userId(), undefined, 'null results are undefined');
    assert.match(core.anonymousId(), /^[0-9a-f-]{36}$/);
    assert.equal(core.track(NOW + 1, 'buy 埋点', { note: '🚀 "quoted"\n', n: 1.5 }), undefined);
    core.track(NOW + 2, 'second');
    const effects = core.pollEffects();
    assert.deepEqual(core.pollEffects(), [], 'drained');
    const persisted = effects.filter((e) => e.type === 'persist').map((e) => e.value);
    const events = persisted
      .flatMap((v) => v.split('\n'))
      .filter((v) => v.startsWith('{"messageId"'))
      .map((v) => JSON.parse(v));
    assert.deepEqual(
      events.map((e) => [e.event, e.properties]),
      [
        ['buy 埋点', { note: '🚀 "quoted"\n', n: 1.5 }],
        ['second', undefined],
      ],
    );
    for (const e of effects) assert.equal(Object.getPrototypeOf(e), Object.prototype);
    assert.equal(core.stats().eventsQueued, 2);

    core.flush(NOW + 3);
    const [send] = core.pollEffects().filter((e) => e.type === 'send');
    assert.ok(send.body instanceof Uint8Array);
    assert.deepEqual([...send.body.subarray(0, 2)], [0x1f, 0x8b]);
    assert.equal(send.events, 2);
    assert.equal(send.headers['Content-Encoding'], 'gzip');
    core.sent(NOW + 4, send.batchId, 200);
    const after = core.pollEffects();
    assert.ok(after.some((e) => e.type === 'remove'));
    assert.deepEqual(
      after.filter((e) => e.type === 'wakeAt'),
      [{ type: 'wakeAt', at: null }],
    );
    assert.equal(core.stats().eventsDelivered, 2);
  });

  it('throws the wasm errors and keeps the effects of later calls', () => {
    assert.throws(() => start({ endpoint: 'https://t' }), /writeKey/);
    const core = start();
    core.pollEffects();
    assert.throws(() => core.track(NOW, 'x', 5), /^Error: track: properties must be an object$/);
    core.track(NOW, 'y');
    assert.equal(core.pollEffects().filter((e) => e.type === 'persist').length, 1);
  });

  it('reloads stored entries', () => {
    const first = start();
    first.track(NOW, 'kept');
    const stored = first
      .pollEffects()
      .filter((e) => e.type === 'persist')
      .map((e) => [e.key, e.value]);
    const again = start(CONFIG, stored);
    const [send] = again.pollEffects().filter((e) => e.type === 'send');
    assert.equal(send?.events, 1);
  });
});
