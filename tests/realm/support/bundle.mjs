/**
 * Builds the mini-program bundle of the wrapper with the JS double of the core, with the same
 * esbuild settings as `cargo xtask build-sdk` (CommonJS, ES2017, UTF-8 codec injected), so the
 * wrapper is exercised exactly as shipped minus the wasm.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { packageDir, repoRoot } from '../paths.mjs';

const require = createRequire(path.join(packageDir, 'package.json'));

let built;

/** @returns {string} a directory holding `index.js` (mount it as `miniprogram_npm/maidian`) */
export function fakeCoreBundle() {
  if (built) return built;
  const { buildSync } = require('esbuild');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maidian-fake-'));
  buildSync({
    entryPoints: [path.join(repoRoot, 'tests/realm/support/fake-entry.mjs')],
    bundle: true,
    format: 'cjs',
    target: 'es2017',
    platform: 'neutral',
    inject: [path.join(packageDir, 'src/text-codec.mjs')],
    outfile: path.join(dir, 'index.js'),
    logLevel: 'warning',
  });
  built = dir;
  return dir;
}
