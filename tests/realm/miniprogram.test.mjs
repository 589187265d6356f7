/**
 * The shipped `miniprogram_dist` in a simulated mini-program realm (./realm.mjs): no
 * WebAssembly/TextEncoder/TextDecoder/fetch/URL, path-only WXWebAssembly / TTWebAssembly.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { miniprogramDist, requireBuilt, roundTrip, SAMPLES } from './paths.mjs';
import { ABSENT_GLOBALS, createMiniProgramRealm } from './realm.mjs';

requireBuilt(path.join(miniprogramDist, 'index.js'));
const mounts = { 'miniprogram_npm/maidian': miniprogramDist };
const WASM_BR = '/miniprogram_npm/maidian/maidian_sdk_bg.wasm.br';

describe('miniprogram_dist in a mini-program realm (WXWebAssembly)', () => {
  const realm = createMiniProgramRealm({ mounts });
  const sdk = realm.require('maidian').wasm;

  it('the realm really lacks the web platform', () => {
    for (const name of ABSENT_GLOBALS) {
      assert.equal(realm.run(`typeof ${name}`), 'undefined', name);
    }
  });

  it('ships only the bundle and the brotli wasm', () => {
    assert.deepEqual(fs.readdirSync(miniprogramDist).sort(), [
      'index.js',
      'maidian_sdk_bg.wasm.br',
    ]);
  });

  it('init() loads the .wasm.br from the default package path', async () => {
    assert.equal(sdk.DEFAULT_WASM_PATH, WASM_BR);
    await sdk.init();
    assert.deepEqual(realm.instantiateCalls, [WASM_BR]);
    // A second init is the same load.
    await sdk.init();
    assert.equal(realm.instantiateCalls.length, 1);
  });

  it('exports work, including non-ASCII strings', async () => {
    await sdk.init();
    // Only `Maidian` of the glue is exported (the version is checked in e2e.test.mjs's events).
    assert.equal(typeof sdk.Maidian, 'function');
    assert.equal(sdk.version, undefined);
    assert.equal(roundTrip(sdk, '埋点 🚀'), '埋点 🚀');
    for (const s of SAMPLES) {
      assert.ok(roundTrip(sdk, s) === s, `round trip of ${s.length} chars`);
    }
    // Lone surrogates become U+FFFD on the way in, like TextEncoder does.
    assert.equal(roundTrip(sdk, 'a\ud800b\udc00'), 'a\ufffdb\ufffd');
  });
});

describe('the loader contract', () => {
  it('works with TTWebAssembly (ByteDance)', async () => {
    const realm = createMiniProgramRealm({ mounts, engine: 'TTWebAssembly' });
    const sdk = realm.require('maidian').wasm;
    await sdk.init();
    assert.equal(realm.instantiateCalls.length, 1);
    assert.equal(roundTrip(sdk, '抖音 ✓'), '抖音 ✓');
  });

  it('takes a configurable path, and a failed load can be retried', async () => {
    const realm = createMiniProgramRealm({ mounts });
    const sdk = realm.require('maidian').wasm;
    await assert.rejects(sdk.init({ wasmPath: '/nowhere/sdk.wasm.br' }), /no such file/);
    await sdk.init({ wasmPath: 'miniprogram_npm/maidian/maidian_sdk_bg.wasm.br' });
    assert.deepEqual(realm.instantiateCalls, [
      '/nowhere/sdk.wasm.br',
      'miniprogram_npm/maidian/maidian_sdk_bg.wasm.br',
    ]);
    assert.equal(roundTrip(sdk, 'é'), 'é');
  });

  it('fails clearly on a host without a wasm engine', async () => {
    const realm = createMiniProgramRealm({ mounts, engine: 'NoSuchWebAssembly' });
    const sdk = realm.require('maidian').wasm;
    await assert.rejects(sdk.init(), /no path-only wasm engine on this host \(unknown\)/);
  });

  it('the fake engine accepts only package paths, never bytes', async () => {
    const { engine } = createMiniProgramRealm({ mounts });
    const bytes = fs.readFileSync(path.join(miniprogramDist, 'maidian_sdk_bg.wasm.br'));
    await assert.rejects(engine.instantiate(bytes, {}), TypeError);
    await assert.rejects(engine.instantiate(new Uint8Array(8), {}), TypeError);
    await assert.rejects(
      engine.instantiate('/miniprogram_npm/maidian/index.js', {}),
      /not a \.wasm/,
    );
    await assert.rejects(
      engine.instantiate('/miniprogram_npm/maidian/../../../etc/x.wasm', {}),
      /no such file/,
    );
  });
});
