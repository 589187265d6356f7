/** The web build (ESM, `dist/web`), loaded in Node with bytes via `initSync` and async init. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { packageJson, requireBuilt, roundTrip, SAMPLES, webDist } from './paths.mjs';

const glueUrl = pathToFileURL(requireBuilt(path.join(webDist, 'maidian_sdk.js'))).href;
const wasmBytes = fs.readFileSync(path.join(webDist, 'maidian_sdk_bg.wasm'));

function check(sdk) {
  assert.equal(sdk.version(), packageJson.version);
  assert.equal(roundTrip(sdk, '埋点 🚀'), '埋点 🚀');
  for (const s of SAMPLES) {
    assert.ok(roundTrip(sdk, s) === s, `round trip of ${s.length} chars`);
  }
}

describe('web build', () => {
  it('initSync({ module: bytes })', async () => {
    const sdk = await import(`${glueUrl}?sync`);
    sdk.initSync({ module: wasmBytes });
    check(sdk);
  });

  it('await init({ module_or_path: bytes })', async () => {
    const sdk = await import(`${glueUrl}?async`);
    await sdk.default({ module_or_path: wasmBytes });
    check(sdk);
  });

  it('await init({ module_or_path: WebAssembly.Module })', async () => {
    const sdk = await import(`${glueUrl}?module`);
    await sdk.default({ module_or_path: new WebAssembly.Module(wasmBytes) });
    check(sdk);
  });
});
