/**
 * Builds the "vendor" chunk of a framework app the way the framework's CLI bundles
 * `node_modules`: the REAL runtime packages of tests/frameworks/node_modules plus the shipped
 * `maidian/miniprogram` entry (resolved through js-wrapper's `exports`, as a bundler does), one
 * CommonJS file, with the CLI's compile-time constants (`process.env.*`, feature flags) defined.
 *
 * The app's own compiled files (`app.js`, `pages/…/*.js`) are hand-written in ../taro/dist and
 * ../uni-app/dist (what the CLI emits for the example source quoted in each file) and `require`
 * this chunk, as the CLI output requires its `vendors.js` / `common/vendor.js`.
 *
 * Every import must resolve to a runtime file: the CLI-only dependencies are stubbed (see
 * ../README.md), and the stub throws if it is ever evaluated.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const frameworksDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = path.resolve(frameworksDir, '../..');
const packageDir = path.join(repoRoot, 'js-wrapper');
// esbuild is js-wrapper's (the same one `cargo xtask build-sdk` uses).
const require = createRequire(path.join(packageDir, 'package.json'));

/** Temporary directories made by this module (vendor builds, config files). */
const tempDirs = [];

function tempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Removes every temporary directory made so far (call from the test's `after`). */
export function removeTempDirs() {
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/** Null when `npm ci` ran in tests/frameworks, else how to fix it. */
export function frameworksMissing() {
  const probe = path.join(frameworksDir, 'node_modules', '@tarojs', 'runtime', 'package.json');
  return fs.existsSync(probe) ? null : `run \`npm ci\` in ${frameworksDir} (or .ci/setup)`;
}

/**
 * Why the framework tests cannot run here (null when they can): packages not installed, the
 * mini-program build missing, or the collector unavailable (`collectorUnavailable` of
 * tests/realm). With `CI` set a missing prerequisite is an error, not a skip.
 */
export function prerequisitesMissing({ shippedEntry, collectorUnavailable }) {
  const why =
    frameworksMissing() ||
    (!fs.existsSync(shippedEntry) ? 'run `cargo xtask build-sdk` first' : null) ||
    collectorUnavailable();
  if (why && process.env.CI) throw new Error(`framework tests cannot run under CI: ${why}`);
  return why;
}

/** The installed version of a framework package (for messages and the docs table). */
export function installedVersion(name) {
  const file = path.join(frameworksDir, 'node_modules', name, 'package.json');
  return JSON.parse(fs.readFileSync(file, 'utf8')).version;
}

/**
 * @param {object} o
 * @param {string} o.entry ESM source of the vendor chunk (imports in evaluation order, exports
 *   what the compiled app files use)
 * @param {Record<string, string>} o.define compile-time constants of the framework's CLI
 * @param {Record<string, string>} [o.alias] bundler aliases of the CLI (`vue` -> …)
 * @param {string[]} [o.inject] files whose exports stand for free globals (vite's inject)
 * @param {string[]} [o.external] requires the CLI leaves in dead branches of the runtime
 * @returns {string} the built file (CommonJS, ES2017, one file)
 */
export function buildVendor({ entry, define, alias = {}, inject = [], external = [] }) {
  const { buildSync } = require('esbuild');
  const dir = tempDir('maidian-fw-vendor-');
  // `maidian` as an installed package: a node_modules directory holding a link to js-wrapper,
  // so `maidian/miniprogram` goes through the package's `exports` map like in a real app.
  const nodeModules = path.join(dir, 'node_modules');
  fs.mkdirSync(nodeModules);
  fs.symlinkSync(packageDir, path.join(nodeModules, 'maidian'), 'dir');
  const outfile = path.join(dir, 'vendor.js');
  buildSync({
    // Bare names resolve from tests/frameworks/node_modules, then `maidian` from `nodePaths`.
    stdin: { contents: entry, resolveDir: frameworksDir, sourcefile: 'vendor-entry.mjs' },
    absWorkingDir: frameworksDir, // where aliases resolve from
    bundle: true,
    format: 'cjs',
    target: 'es2017',
    platform: 'browser',
    nodePaths: [nodeModules],
    alias,
    define,
    inject,
    external,
    outfile,
    logLevel: 'warning',
    legalComments: 'none',
  });
  return outfile;
}

/**
 * The js-wrapper files a bundler with browser conditions (what Taro's webpack and uni's vite
 * use for mini-program builds) includes for `import md from '<specifier>'`.
 */
export function bundledWrapperFiles(specifier) {
  const { buildSync } = require('esbuild');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maidian-fw-resolve-'));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(packageDir, path.join(dir, 'node_modules', 'maidian'), 'dir');
  try {
    const { metafile } = buildSync({
      stdin: { contents: `import md from '${specifier}'; export { md };`, resolveDir: dir },
      bundle: true,
      write: false,
      metafile: true,
      format: 'cjs',
      platform: 'browser',
      // The glue's own `./maidian_sdk.js` imports are not what is looked at here.
      external: ['*.wasm'],
      absWorkingDir: packageDir,
      logLevel: 'silent',
    });
    return Object.keys(metafile.inputs).filter((f) => !f.startsWith('..') && !f.startsWith('/'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A `config.js` module (`module.exports = {...}`) in a temporary directory. */
export function configModule(values) {
  const dir = tempDir('maidian-fw-config-');
  const file = path.join(dir, 'config.js');
  fs.writeFileSync(file, `module.exports = ${JSON.stringify(values)};\n`);
  return file;
}

/**
 * The `config.js` both framework apps pass to `md.init`: the test collector, consent granted,
 * one batch per session (sent on hide), a short exposure dwell.
 */
export function sdkConfigModule(serverUrl) {
  return configModule({
    serverUrl,
    writeKey: 'demo-key',
    consent: 'granted',
    batch: { size: 100, intervalMs: 60000 },
    exposure: { dwellMs: 50 },
  });
}

/**
 * What a framework app needs of the realm beyond tests/realm's host: WeChat's app service has a
 * `global` object (both runtimes use it), and `hostLog`, where the test apps record what their
 * own lifecycle code saw. Returns a reader of that log (plain JSON, outside the realm).
 */
export function prepareRealm(host) {
  host.realm.run('globalThis.global = globalThis; globalThis.hostLog = [];');
  return () => JSON.parse(JSON.stringify(host.realm.context.hostLog));
}
