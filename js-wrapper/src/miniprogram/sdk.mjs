/**
 * Assembles the mini-program SDK: platform detection, the host adapter, the client and the
 * hooks. `loadCore(options)` is injected so the same code runs the real wasm core (./index.mjs)
 * or a test double (tests/realm/support/).
 */
import { createClient } from '../client.mjs';
import { installHooks } from './hooks.mjs';
import { createMiniProgramHost, detectPlatform } from './host.mjs';

/**
 * Creates the SDK and installs the `App`/`Page`/`Component` hooks.
 * @param {(options: object) => Promise<Function>} loadCore resolves the core
 *   factory `(config, init) => core`
 * @returns the public `md` object
 */
export function createMiniProgramSdk(loadCore) {
  const platform = detectPlatform();
  const { api, input } = createClient(createMiniProgramHost(platform, loadCore));
  return Object.assign(api, installHooks(input, platform.api), {
    /** The detected host: `wechat`, `qq`, `bytedance`, `baidu`, `alipay` or `unknown`. */
    platform: platform.name,
  });
}
