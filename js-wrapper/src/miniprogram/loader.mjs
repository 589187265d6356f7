/**
 * Mini-program entry: the wasm-bindgen glue's `Maidian` class plus `init()`, which instantiates the
 * `.wasm.br` through the host's path-only `WXWebAssembly` (WeChat) or `TTWebAssembly`
 * (ByteDance). Mini-programs have no `WebAssembly`, `fetch`, `TextDecoder` or `import.meta`, so
 * the glue's own init is not used: `cargo xtask build-sdk` exports its internals
 * `__wbg_get_imports` / `__wbg_finalize_init` (and fails if they vanish), bundles this file with
 * the glue into CommonJS ES2017 and injects the UTF-8 codec from ../text-codec.mjs.
 *
 * This file is copied next to the generated glue before bundling; `./maidian_sdk.js` is that glue.
 */
import { detectPlatform } from './host.mjs';
import { __wbg_finalize_init, __wbg_get_imports } from './maidian_sdk.js';

// Only the SDK class, not `export *`: the glue's other exports (`version`, its string helpers)
// would otherwise stay in the bundle through the namespace object (≈ 0.3 KB).
export { Maidian } from './maidian_sdk.js';

/**
 * Where "Build npm" puts the shipped wasm: the package's `miniprogram_dist/` is copied to
 * `miniprogram_npm/maidian/`. Whether the path needs a leading `/` is still to be confirmed on
 * devices, and it depends on the app's layout, so apps can pass `wasmPath`.
 */
export const DEFAULT_WASM_PATH = '/miniprogram_npm/maidian/maidian_sdk_bg.wasm.br';

let ready;

/**
 * Loads the wasm once; later calls return the same promise (a failed load may be retried).
 * @param {{wasmPath?: string, engine?: {instantiate: Function}}} [options]
 *   `wasmPath`: package path of the `.wasm.br` (default {@link DEFAULT_WASM_PATH});
 *   `engine`: the `XXWebAssembly` object to use (default: the detected host's, ./host.mjs).
 * @returns {Promise<void>}
 */
export function init(options) {
  if (!ready) {
    const opts = options || {};
    ready = Promise.resolve()
      .then(() => {
        const platform = detectPlatform();
        const engine = opts.engine || platform.engine;
        if (!engine) {
          throw new Error(
            `no path-only wasm engine on this host (${platform.name}): WXWebAssembly needs ` +
              'WeChat base library >= 2.14.0, TTWebAssembly ByteDance >= 2.92.0; or pass `engine`',
          );
        }
        return engine.instantiate(opts.wasmPath || DEFAULT_WASM_PATH, __wbg_get_imports());
      })
      .then((result) => {
        // WebAssembly.instantiate-style result ({instance, module}) or a bare instance.
        const r = Object(result);
        __wbg_finalize_init(r.instance || result, r.module);
      });
    ready.catch(() => {
      ready = undefined;
    });
  }
  return ready;
}
