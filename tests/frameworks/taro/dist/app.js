/**
 * What `taro build --type weapp` (Taro CLI 3.6.40, webpack 5, React) emits for the app entry,
 * hand-written because the CLI is not installed (see ../../README.md). Two parts, in the order
 * the emitted `app.js` runs them:
 *
 * 1. the app's `src/app.js` (babel output of the source below);
 * 2. the entry that @tarojs/taro-loader wraps around it: `App(createReactApp(...))`.
 *
 * webpack's chunk loader is replaced by `require('./vendors.js')` (built from the real runtime
 * packages by ../../support/build.mjs); `config.js` is written by the test (collector URL).
 *
 * src/app.js:
 *   import md from 'maidian/miniprogram'
 *   import { Component } from 'react'
 *   import config from './config'
 *   md.init({ ...config, wasmPath: '/maidian/maidian_sdk_bg.wasm.br' })
 *   class App extends Component {
 *     onLaunch (options) { hostLog.push(['App.onLaunch', options.scene]) }
 *     componentDidShow (options) { hostLog.push(['App.componentDidShow', options.scene]) }
 *     componentDidHide () { hostLog.push(['App.componentDidHide']) }
 *     render () { return this.props.children }
 *   }
 *   export default App
 */
'use strict';

const vendors = require('./vendors.js');
const config = require('./config.js');

// ---- src/app.js
const md = vendors.md;
md.init(Object.assign({}, config, { wasmPath: '/maidian/maidian_sdk_bg.wasm.br' }));

class TaroApp extends vendors.React.Component {
  onLaunch(options) {
    hostLog.push(['App.onLaunch', options.scene]);
  }
  componentDidShow(options) {
    hostLog.push(['App.componentDidShow', options.scene]);
  }
  componentDidHide() {
    hostLog.push(['App.componentDidHide']);
  }
  render() {
    return this.props.children;
  }
}

// ---- the taro-loader app entry
const appConfig = { pages: ['pages/index/index'], window: { navigationBarTitleText: 'Shop' } };
vendors.runtime.window.__taroAppConfig = appConfig;
App(
  vendors.frameworkReact.createReactApp(TaroApp, vendors.React, vendors.ReactDOM, appConfig),
);
