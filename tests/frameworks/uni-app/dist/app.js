/**
 * What the uni-app CLI (`uni build -p mp-weixin`, @dcloudio/vite-plugin-uni and
 * @dcloudio/uni-mp-weixin 3.0.0-4080720251210001, Vue 3) emits as `app.js` for the `main.js` and
 * `App.vue` below, hand-written because the CLI is not installed (see ../../README.md).
 * `common/vendor.js` is built from the real runtime packages by ../../support/build.mjs;
 * `config.js` is written by the test (collector URL).
 *
 * main.js:
 *   import md from 'maidian/miniprogram'
 *   import config from './config'
 *   md.init({ ...config, wasmPath: '/static/maidian/maidian_sdk_bg.wasm.br' })
 *   import App from './App'
 *   import { createSSRApp } from 'vue'
 *   export function createApp () { return { app: createSSRApp(App) } }
 *
 * App.vue:
 *   <script>
 *   export default {
 *     onLaunch (options) { hostLog.push(['App.onLaunch', options.scene]) },
 *     onShow (options) { hostLog.push(['App.onShow', options.scene]) },
 *     onHide () { hostLog.push(['App.onHide']) },
 *   }
 *   </script>
 */
'use strict';

Object.defineProperty(exports, Symbol.toStringTag, { value: 'Module' });
const common_vendor = require('./common/vendor.js');
const config = require('./config.js');

common_vendor.md.init(
  Object.assign({}, config, { wasmPath: '/static/maidian/maidian_sdk_bg.wasm.br' }),
);
if (!Math) {
  './pages/index/index.js';
}
const _sfc_main = {
  onLaunch(options) {
    hostLog.push(['App.onLaunch', options.scene]);
  },
  onShow(options) {
    hostLog.push(['App.onShow', options.scene]);
  },
  onHide() {
    hostLog.push(['App.onHide']);
  },
};
function createApp() {
  const app = common_vendor.createSSRApp(_sfc_main);
  return { app };
}
createApp().app.mount('#app');
exports.createApp = createApp;
