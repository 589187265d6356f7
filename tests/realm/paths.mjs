/** Paths of the built package, shared by the smoke tests. Run `cargo xtask build-sdk` first. */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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
