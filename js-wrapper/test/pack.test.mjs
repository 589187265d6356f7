/**
 * What `npm pack` would publish: every entry point present (mini-program, web ESM, Node main,
 * types), no sources or tests, and the sizes printed. The mini-program directory holds exactly
 * what "Build npm" copies: the bundle and the brotli wasm.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';

const pkgDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(execFileSync('npm', ['pkg', 'get'], { cwd: pkgDir, encoding: 'utf8' }));

it('npm pack ships every entry point and nothing else', () => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: pkgDir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const [report] = JSON.parse(out);
  const files = new Map(report.files.map((f) => [f.path, f.size]));
  const required = [
    'package.json',
    'index.d.ts',
    'miniprogram_dist/index.js',
    'miniprogram_dist/maidian_sdk_bg.wasm.br',
    'dist/miniprogram-debug/maidian_sdk_bg.wasm.br',
    'dist/web/index.js',
    'dist/web/maidian_sdk.js',
    'dist/web/maidian_sdk_bg.wasm',
    'dist/web/package.json',
    'dist/node/index.js',
    'dist/node/maidian_sdk.js',
    'dist/node/maidian_sdk_bg.wasm',
  ];
  for (const f of required) assert.ok(files.has(f), `${f} is in the package`);
  for (const f of files.keys()) {
    assert.ok(!/^(src|test|node_modules)\//.test(f), `${f} must not be published`);
  }
  // Every entry named in package.json is a packed file.
  const entries = [pkg.main, pkg.module, pkg.types, `${pkg.miniprogram}/index.js`];
  for (const [, target] of Object.entries(pkg.exports)) {
    if (typeof target === 'string') entries.push(target);
    else entries.push(...Object.values(target));
  }
  for (const e of entries) assert.ok(files.has(e.replace(/^\.\//, '')), `entry ${e} is packed`);
  const mp = [...files.keys()].filter((f) => f.startsWith('miniprogram_dist/')).sort();
  assert.deepEqual(mp, ['miniprogram_dist/index.js', 'miniprogram_dist/maidian_sdk_bg.wasm.br']);

  const rows = [...files].sort(([a], [b]) => a.localeCompare(b));
  const width = Math.max(...rows.map(([f]) => f.length));
  const lines = rows.map(([f, s]) => `  ${f.padEnd(width)} ${String(s).padStart(9)}`);
  const shipped = mp.reduce((n, f) => n + files.get(f), 0);
  console.log(
    `npm pack: ${report.entryCount} files, ${report.size} bytes packed, ${report.unpackedSize} unpacked\n` +
      `${lines.join('\n')}\n` +
      `mini-program shipped (what counts against the 2 MB package): ${shipped} bytes ` +
      `(budget 60 KB: ${shipped <= 60 * 1024 ? 'within' : 'OVER'})`,
  );
});
