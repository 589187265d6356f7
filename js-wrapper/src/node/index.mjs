/**
 * The Node entry (`dist/node/index.js`, the package's `main`): the same API as the mini-program
 * package over `fetch` and `crypto.getRandomValues`, for server-side or test use. Storage is in
 * memory unless `init({ storage })` passes a `{getItem, setItem, removeItem, keys}` object.
 */
import { createClient } from '../client.mjs';
import { coreFactory } from '../core-adapter.mjs';
import { createStandardHost } from '../standard-host.mjs';
import * as wasm from './maidian_sdk.js';

const host = createStandardHost({
  loadCore: () => Promise.resolve().then(() => coreFactory(wasm)),
  context: () => ({
    context: {
      miniProgram: undefined,
      os: { name: process.platform, version: process.version },
    },
    timezoneOffsetMin: -new Date().getTimezoneOffset(),
    libraryName: 'maidian-node',
  }),
  unrefTimers: true,
});
const { api } = createClient(host);

export default api;
export const {
  init,
  track,
  identify,
  register,
  unregister,
  consent,
  flush,
  reset,
  ready,
  status,
  inspect,
} = api;
export { wasm };
