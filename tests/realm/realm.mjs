/**
 * A simulated mini-program JS realm for running the exact shipped `miniprogram_dist` files.
 *
 * What it models (see shared/notes/wasm-in-miniprograms.md):
 * - a separate `vm` context with NO `WebAssembly`, `TextEncoder`, `TextDecoder`, `fetch`, `URL`
 *   (nor `require`, `process`, `Buffer`); only `console`, timers and what the test passes in;
 * - CommonJS modules resolved the way WeChat resolves a built npm package: a bare name `pkg` is
 *   `miniprogram_npm/pkg/index.js`; relative requires stay inside the project;
 * - `WXWebAssembly` (or `TTWebAssembly`) whose `instantiate(path, imports)` accepts only a string
 *   path of a `.wasm` or `.wasm.br` file inside the project (brotli-decoded here, in the outer
 *   realm) and rejects bytes, URLs and anything else.
 *
 * `WebAssembly` is deleted only inside the context: Node's own realm keeps it (its HTTP client
 * needs it), and the fake engine uses it from the outer realm.
 */
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import zlib from 'node:zlib';

/** Globals a mini-program does not have; each is checked to be absent in the context. */
export const ABSENT_GLOBALS = [
  'WebAssembly',
  'TextEncoder',
  'TextDecoder',
  'fetch',
  'URL',
  'require',
  'process',
  'Buffer',
];

/**
 * @param {object} options
 * @param {Record<string, string>} options.mounts project path -> real directory, e.g.
 *   `{ 'miniprogram_npm/maidian': '/…/js-wrapper/miniprogram_dist' }`
 * @param {'WXWebAssembly'|'TTWebAssembly'} [options.engine] which engine global to provide
 * @param {Record<string, unknown>} [options.globals] extra globals (e.g. a fake `wx`)
 */
export function createMiniProgramRealm({ mounts, engine = 'WXWebAssembly', globals = {} }) {
  /** Maps a project path (with or without a leading '/') to a real file, or null. */
  function resolveProjectPath(projectPath) {
    const normalized = path.posix.normalize(projectPath.replace(/^\/+/, ''));
    if (normalized.startsWith('..') || path.posix.isAbsolute(normalized)) return null;
    for (const [mount, dir] of Object.entries(mounts)) {
      if (normalized === mount || normalized.startsWith(`${mount}/`)) {
        const real = path.join(dir, normalized.slice(mount.length));
        const root = path.resolve(dir);
        if (real !== root && !real.startsWith(root + path.sep)) return null;
        return real;
      }
    }
    return null;
  }

  const instantiateCalls = [];
  const fakeEngine = {
    instantiate(wasmPath, imports) {
      instantiateCalls.push(wasmPath);
      return new Promise((resolve) => {
        if (typeof wasmPath !== 'string') {
          throw new TypeError(
            `${engine}.instantiate: path must be a string, got ${typeof wasmPath}`,
          );
        }
        if (!/\.wasm(\.br)?$/.test(wasmPath)) {
          throw new Error(`${engine}.instantiate: not a .wasm or .wasm.br path: ${wasmPath}`);
        }
        const real = resolveProjectPath(wasmPath);
        if (!real || !fs.existsSync(real)) {
          throw new Error(`${engine}.instantiate: no such file in the code package: ${wasmPath}`);
        }
        let bytes = fs.readFileSync(real);
        if (wasmPath.endsWith('.br')) bytes = zlib.brotliDecompressSync(bytes);
        resolve(WebAssembly.instantiate(bytes, imports));
      });
    },
  };

  const sandbox = {
    console,
    setTimeout,
    clearTimeout,
    setInterval,
    clearInterval,
    [engine]: fakeEngine,
    ...globals,
  };
  const context = vm.createContext(sandbox, { name: 'mini-program realm' });
  vm.runInContext('delete globalThis.WebAssembly;', context);
  for (const name of ABSENT_GLOBALS) {
    const type = vm.runInContext(`typeof ${name}`, context);
    if (type !== 'undefined') throw new Error(`realm setup: ${name} is still defined (${type})`);
  }

  const cache = new Map();

  /** Resolves a specifier from a project directory to a real .js file. */
  function resolveModule(specifier, fromDir) {
    const projectPath =
      specifier.startsWith('./') || specifier.startsWith('../')
        ? path.posix.join(fromDir, specifier)
        : specifier.startsWith('/')
          ? specifier
          : `miniprogram_npm/${specifier}`;
    for (const candidate of [projectPath, `${projectPath}.js`, `${projectPath}/index.js`]) {
      const real = resolveProjectPath(candidate);
      if (real && fs.existsSync(real) && fs.statSync(real).isFile()) {
        return { real, projectPath: path.posix.normalize(candidate.replace(/^\/+/, '')) };
      }
    }
    throw new Error(`mini-program require: cannot find module '${specifier}' from '/${fromDir}'`);
  }

  function load({ real, projectPath }) {
    const cached = cache.get(real);
    if (cached) return cached.exports;
    const module = { exports: {} };
    cache.set(real, module);
    const dir = path.posix.dirname(projectPath);
    const wrapper = vm.runInContext(
      `(function (exports, require, module, __filename, __dirname) {\n${fs.readFileSync(real, 'utf8')}\n})`,
      context,
      { filename: real, lineOffset: -1 },
    );
    const localRequire = (specifier) => load(resolveModule(specifier, dir));
    wrapper.call(
      module.exports,
      module.exports,
      localRequire,
      module,
      `/${projectPath}`,
      `/${dir}`,
    );
    return module.exports;
  }

  return {
    context,
    /** `require` as seen from a page at the project root, e.g. `realm.require('maidian')`. */
    require: (specifier) => load(resolveModule(specifier, '.')),
    /** Evaluates code inside the realm. */
    run: (code) => vm.runInContext(code, context),
    /** Every path passed to the engine's instantiate, in order. */
    instantiateCalls,
    engine: fakeEngine,
  };
}
