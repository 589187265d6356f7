/**
 * Assembles the mini-program SDK: platform detection, the host adapter, the client and the
 * hooks. `loadCore(options)` is injected so the same code runs the real wasm core (./index.mjs)
 * or a test double (tests/realm/support/).
 */
import { createClient } from '../client.mjs';
import { createHooks } from './hooks.mjs';
import { createMiniProgramHost, detectPlatform } from './host.mjs';

/**
 * Creates the SDK and installs the `App`/`Page`/`Component` hooks.
 * @param {(options: object) => Promise<Function>} loadCore resolves the core
 *   factory `(config, init) => core`
 * @returns the public `md` object
 */
export function createMiniProgramSdk(loadCore) {
  const platform = detectPlatform();
  const host = createMiniProgramHost(platform, loadCore);
  const { api, input } = createClient(host);
  const hooks = createHooks({ input, api: platform.api });
  try {
    hooks.install();
  } catch (err) {
    input.internal('install', err);
  }
  return Object.assign(api, {
    /** Re-observes exposure elements of a page or component after `setData` (default: current page). */
    rescanExposure: hooks.rescanExposure,
    /** Explicit lifecycle reporting for frameworks whose lifecycle objects cannot be wrapped. */
    lifecycle: hooks.lifecycle,
    /** The detected host: `wechat`, `qq`, `bytedance`, `baidu`, `alipay` or `unknown`. */
    platform: platform.name,
  });
}
