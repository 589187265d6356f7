/** Paths of the built package, shared by the smoke tests. Run `cargo xtask build-sdk` first. */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { coreFactory } from '../../js-wrapper/src/core-adapter.mjs';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const packageDir = path.join(repoRoot, 'js-wrapper');
export const miniprogramDist = path.join(packageDir, 'miniprogram_dist');
/** The debug mini-program wasm (`debug-validate`), loaded with `wasmPath`. */
export const miniprogramDebugDist = path.join(packageDir, 'dist', 'miniprogram-debug');
export const webDist = path.join(packageDir, 'dist', 'web');
export const nodeDist = path.join(packageDir, 'dist', 'node');
export const packageJson = JSON.parse(
  fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8'),
);

/** Fails with a hint when the build output is missing. */
export function requireBuilt(file) {
  if (!fs.existsSync(file)) {
    throw new Error(`${file} is missing: run \`cargo xtask build-sdk\` first`);
  }
  return file;
}

/** Strings every target must carry through the boundary unchanged. */
export const SAMPLES = [
  '',
  'hello',
  '埋点 🚀',
  'ünïcödé',
  '\u0000 nul and \u007f del',
  '\ud83d\ude80 pair, \u{10ffff} max',
  'x'.repeat(10_000),
  '埋点🚀'.repeat(5_000),
];

const ROUND_TRIP_CONFIG = {
  writeKey: 'k',
  endpoint: 'https://collector.example/v1/batch',
  consentRequired: true,
};
const roundTripCores = new WeakMap();

/**
 * `s` through a loaded glue module's real bindings (with the wrapper's core adapter) and back:
 * operation `sharePath` returns its path unchanged while consent is pending, so the string
 * crosses `JSON.stringify`, the glue's UTF-8 encoder and the wasm's JSON parser on the way in,
 * the wasm's JSON writer, the glue's decoder and `JSON.parse` on the way out (lone surrogates
 * come back as U+FFFD, as with `TextEncoder`). The shipped builds have no smoke-test exports
 * for this.
 */
export function roundTrip(sdk, s) {
  let core = roundTripCores.get(sdk);
  if (!core) {
    core = coreFactory(sdk)(ROUND_TRIP_CONFIG, {
      now: Date.now(),
      entropy: new Uint8Array(32).fill(1),
      stored: [],
    });
    roundTripCores.set(sdk, core);
  }
  return core.sharePath(s, undefined);
}
