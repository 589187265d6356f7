/**
 * The mini-program package entry (`miniprogram_dist/index.js` after `cargo xtask build-sdk`):
 * `const md = require('maidian')` installs the hooks; `md.init({...})` loads the `.wasm.br`
 * through the host's path-only engine and starts the core.
 */
import { coreFactory } from '../core-adapter.mjs';
import * as wasm from './loader.mjs';
import { createMiniProgramSdk } from './sdk.mjs';

/** The default path without its leading `/`, tried when the default fails (device-dependent). */
const RELATIVE_WASM_PATH = wasm.DEFAULT_WASM_PATH.slice(1);

/** The wasm through the host's engine (the default path, then the same without `/`) -> core. */
function loadCore(options) {
  const load = (wasmPath) => wasm.init({ wasmPath, engine: options.engine });
  const first = load(options.wasmPath || wasm.DEFAULT_WASM_PATH);
  const loaded = options.wasmPath ? first : first.catch(() => load(RELATIVE_WASM_PATH));
  return loaded.then(() => coreFactory(wasm));
}

const md = createMiniProgramSdk(loadCore);
/** The raw wasm module (loader `init`, `DEFAULT_WASM_PATH`, the bindings' `Maidian`); for diagnostics. */
md.wasm = wasm;
// `require('maidian')` is `md` itself, and `import md from 'maidian'` works whether or not the
// app's transpiler adds CommonJS interop (`md.default`). No ESM exports: esbuild's
// CommonJS-interop helpers and export getters would cost ~0.9 KB of the shipped bundle.
md.default = md;
module.exports = md;
