/** The mini-program package entry with the JS double of the core (./fake-core.mjs) instead of wasm. */
import { coreFactory } from '../../../js-wrapper/src/core-adapter.mjs';
import { createMiniProgramSdk } from '../../../js-wrapper/src/miniprogram/sdk.mjs';
import { Maidian } from './fake-core.mjs';

const md = createMiniProgramSdk((options) =>
  options.wasmPath === '/broken.wasm.br'
    ? Promise.reject(new Error('fake: no such file in the code package: /broken.wasm.br'))
    : Promise.resolve(coreFactory({ Maidian })),
);

export default md;
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
  rescanExposure,
  lifecycle,
  platform,
} = md;
/** Test access to the fake core's instances. */
export const fake = Maidian;
