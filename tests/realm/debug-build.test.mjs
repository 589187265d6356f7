/**
 * The debug mini-program wasm (`dist/miniprogram-debug/`, built with the `debug-validate`
 * feature) loaded by the shipped `miniprogram_dist/index.js` through `wasmPath`: with
 * `debug: true` every event is validated by the protocol crate and the verdict is logged with
 * the collector's reason code. The release wasm only logs the events.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { coreFactory } from '../../js-wrapper/src/core-adapter.mjs';
import { miniprogramDebugDist, miniprogramDist, requireBuilt } from './paths.mjs';
import { createMiniProgramRealm } from './realm.mjs';

requireBuilt(path.join(miniprogramDebugDist, 'maidian_sdk_bg.wasm.br'));
const mounts = {
  'miniprogram_npm/maidian': miniprogramDist,
  'maidian-debug': miniprogramDebugDist,
};
const DEBUG_WASM = '/maidian-debug/maidian_sdk_bg.wasm.br';
const CONFIG = { writeKey: 'k', endpoint: 'https://collector.example/v1/batch', debug: true };

/** A property nested deeper than the protocol's 10 levels (reason `too_deep`). */
function tooDeep() {
  let v = { leaf: 1 };
  for (let i = 0; i < 12; i++) v = { v };
  return v;
}

/** Loads `wasmPath` in a fresh realm and returns the log effects of one valid and one invalid event. */
async function logsOf(wasmPath) {
  const realm = createMiniProgramRealm({ mounts });
  const sdk = realm.require('maidian').wasm;
  await sdk.init(wasmPath ? { wasmPath } : undefined);
  const now = Date.now();
  const md = coreFactory(sdk)(CONFIG, { now, entropy: new Uint8Array(32).fill(7), stored: [] });
  md.pollEffects();
  md.track(now + 1, 'ok_event', { a: 1 });
  md.track(now + 2, 'deep_event', { deep: tooDeep() });
  return md.pollEffects().filter((e) => e.type === 'log');
}

describe('debug mini-program build', () => {
  it('validates every event and logs the reason code of an invalid one', async () => {
    const logs = await logsOf(DEBUG_WASM);
    const ok = logs.filter((l) => l.message.includes('"ok_event"'));
    const deep = logs.filter((l) => l.message.includes('"deep_event"'));
    assert.equal(ok.length, 1, JSON.stringify(logs));
    assert.equal(ok[0].level, 'debug');
    assert.match(ok[0].message, /^valid: /);
    assert.equal(deep.length, 1, JSON.stringify(logs));
    assert.equal(deep[0].level, 'warn');
    assert.match(deep[0].message, /^invalid \(too_deep\): /);
  });

  it('the release wasm with debug: true only logs the events', async () => {
    const logs = await logsOf(undefined);
    assert.ok(logs.length >= 2, JSON.stringify(logs));
    for (const l of logs) {
      assert.doesNotMatch(l.message, /^(in)?valid/);
    }
    assert.ok(
      logs.some((l) => l.message.startsWith('event: ') && l.message.includes('deep_event')),
    );
  });
});
