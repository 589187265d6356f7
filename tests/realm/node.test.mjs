/** The Node build (CommonJS, `dist/node`), loaded through the package's own `exports` map. */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { nodeDist, packageDir, packageJson, requireBuilt, roundTrip, SAMPLES } from './paths.mjs';

requireBuilt(path.join(nodeDist, 'maidian_sdk.js'));
// A require rooted in the package resolves 'maidian' through package.json "exports" (self-reference).
const require = createRequire(path.join(packageDir, 'package.json'));

describe('node build', () => {
  it('resolves to dist/node for require("maidian") (wrapper) and maidian/core/node (glue)', () => {
    assert.equal(require.resolve('maidian'), path.join(nodeDist, 'index.js'));
    assert.equal(require.resolve('maidian/core/node'), path.join(nodeDist, 'maidian_sdk.js'));
  });

  it('loads synchronously and the exports work', () => {
    const sdk = require('maidian/core/node');
    assert.equal(sdk.version(), packageJson.version);
    assert.equal(roundTrip(sdk, '埋点 🚀'), '埋点 🚀');
    for (const s of SAMPLES) {
      assert.ok(roundTrip(sdk, s) === s, `round trip of ${s.length} chars`);
    }
  });

  it('is importable from ESM with named exports', async () => {
    const sdk = await import(pathToFileURL(require.resolve('maidian/core/node')).href);
    assert.equal(typeof sdk.version, 'function');
    assert.equal(sdk.version(), packageJson.version);
  });
});
