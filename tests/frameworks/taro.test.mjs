/**
 * Taro 3 (React) with the REAL runtime packages (@tarojs/runtime, @tarojs/shared, @tarojs/react,
 * @tarojs/plugin-framework-react and @tarojs/plugin-platform-weapp runtimes, react 18; versions
 * in package.json) in the simulated mini-program realm, the shipped `maidian/miniprogram`
 * bundled into `vendors.js` as Taro's webpack would, the real wasm core, a real collector.
 *
 * The app is taro/dist (the CLI's output for one app and one page, hand-written: see there).
 * Taro registers the app with `App(createReactApp(...))` and the page with
 * `Page(createPageConfig(...))`; every tap goes through the page's single `eh` handler.
 *
 * Drives launch -> page show -> exposure -> tap -> share -> hide, then checks every stored event
 * and that Taro's own lifecycles (App and page components) and the React click handler ran with
 * their arguments, and that the share handler's return value came back unchanged.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { miniprogramDist } from '../realm/paths.mjs';
import { createAppHost, waitFor } from '../realm/support/app-host.mjs';
import { collectorUnavailable, startCollector } from '../realm/support/collector.mjs';
import {
  buildVendor,
  bundledWrapperFiles,
  frameworksDir,
  installedVersion,
  prepareRealm,
  prerequisitesMissing,
  removeTempDirs,
  sdkConfigModule,
} from './support/build.mjs';
import { assertLaunch, assertShareAndLeave, storedExactly } from './support/stored.mjs';

const dist = path.join(frameworksDir, 'taro', 'dist');
const shipped = path.join(miniprogramDist, 'index.js');
const skip = prerequisitesMissing({ shippedEntry: shipped, collectorUnavailable });

/** The vendor chunk, imports in the order Taro's app entry evaluates them. */
const VENDOR_ENTRY = `
import '@tarojs/plugin-platform-weapp/dist/runtime';
import * as frameworkReact from '@tarojs/plugin-framework-react/dist/runtime';
import * as runtime from '@tarojs/runtime';
import * as React from 'react';
import ReactDOM from '@tarojs/react';
import md from 'maidian/miniprogram';
export { frameworkReact, runtime, React, ReactDOM, md };
`;

/** What Taro's webpack config defines for a production weapp build (3.6 defaults). */
const TARO_DEFINE = {
  'process.env.NODE_ENV': '"production"',
  'process.env.TARO_ENV': '"weapp"',
  'process.env.TARO_PLATFORM': '"mini"',
  'process.env.FRAMEWORK': '"react"',
  __TARO_FRAMEWORK__: '"react"',
  'process.env.TARO_VERSION': '"3.6.40"',
  'process.env.SUPPORT_TARO_POLYFILL': '"disabled"',
  ENABLE_INNER_HTML: 'true',
  ENABLE_ADJACENT_HTML: 'false',
  ENABLE_SIZE_APIS: 'false',
  ENABLE_TEMPLATE_CONTENT: 'false',
  ENABLE_CLONE_NODE: 'false',
  ENABLE_CONTAINS: 'false',
  ENABLE_MUTATION_OBSERVER: 'false',
};

const ROUTE = 'pages/index/index';

describe(`Taro ${skip ? '' : installedVersion('@tarojs/runtime')} (React) in the mini-program realm`, {
  skip: skip || false,
}, () => {
  let collector;
  let vendor;
  before(async () => {
    // `require('preact')` sits in a branch for FRAMEWORK=preact that never runs here.
    vendor = buildVendor({ entry: VENDOR_ENTRY, define: TARO_DEFINE, external: ['preact'] });
    collector = await startCollector();
  });
  after(async () => {
    await collector?.stop();
    removeTempDirs();
  });

  it('records launch, page view, exposure, click, share and hide; Taro still works', async () => {
    const config = sdkConfigModule(collector.url);
    const host = createAppHost({
      mounts: {
        'app.js': path.join(dist, 'app.js'),
        pages: path.join(dist, 'pages'),
        'vendors.js': vendor,
        'config.js': config,
        // Taro's `copy` config puts the wasm here (docs/WRAPPER.md, Taro recipe).
        maidian: miniprogramDist,
      },
    });
    const log = prepareRealm(host);

    host.load('app.js');
    host.load(`${ROUTE}.js`, ROUTE);
    const { md, runtime } = host.require('/vendors.js');

    // Taro 3.6 defines the App lifecycles writable, so App() is hooked directly.
    const launchDescriptor = Object.getOwnPropertyDescriptor(host.app, 'onLaunch');
    assert.equal(launchDescriptor.writable, true);

    host.launch({ path: ROUTE, query: { utm_source: 'taro' }, scene: 1047 });
    const page = host.open(ROUTE);
    assert.equal(await md.ready(), true, 'the wasm core started');

    // Taro renders the page through React into its own DOM, then setData on the page.
    const card = await waitFor(() => runtime.document.getElementById('tea-1'), 'Taro to render');
    assert.match(card.className, /\bmd-expose\b/);
    await waitFor(
      () => log().some(([n]) => n === 'Index.componentDidShow'),
      'the page component to be shown',
    );

    // What WeChat hands the page for this node (Taro's template: id="{{i.uid||i.sid}}",
    // data-sid="{{i.sid}}", bindtap="eh").
    const node = { id: 'tea-1', dataset: { sid: card.sid } };
    const queued = () => md.inspect().stats.eventsQueued;
    const before = queued();
    assert.equal(host.expose(page, { ...node, ratio: 1 }), 1, 'one observer on the page');
    await waitFor(() => queued() > before, 'the exposure after the dwell time');

    // Taro's `eh` dispatches to React's onClick; on weapp it returns nothing for a tap (no
    // `modifyTaroEventReturn` hook), so what the app sees is the handler's effect.
    host.tap(page, 'eh', node);
    assert.deepEqual(
      log().filter(([n]) => n === 'Index.onAdd'),
      [['Index.onAdd', 'tea-1']],
    );
    await waitFor(() => card.textContent.includes('1'), 'the state update to render');

    const payload = host.share(page);
    assert.deepEqual({ ...payload }, { title: 'Tea', path: '/pages/index/index?sku=TEA-1' });

    host.hideApp();
    await waitFor(
      () => log().some(([n]) => n === 'App.componentDidHide'),
      'Taro to run the App hide lifecycle',
    );
    assert.deepEqual(log(), [
      ['App.onLaunch', 1047],
      ['App.componentDidShow', 1047],
      ['Index.componentDidShow'],
      ['Index.onAdd', 'tea-1'],
      ['Index.componentDidHide'],
      ['App.componentDidHide'],
    ]);

    const expected = {
      $app_launch: 1,
      $app_show: 1,
      [`page:${ROUTE}`]: 1,
      $exposure: 1,
      $click: 1,
      add_to_cart: 1,
      $share: 1,
      $page_leave: 1,
      $app_hide: 1,
    };
    const stored = await storedExactly(collector, host, expected);
    const { one } = stored;

    assertLaunch(stored, { scene: 1047, source: 'taro', route: ROUTE });

    const exposure = one('$exposure');
    assert.equal(exposure.properties.element_key, 'tea-1');
    assert.equal(exposure.context.page.path, ROUTE);

    const click = one('$click');
    assert.equal(click.properties.element_id, 'tea-1');
    assert.equal(click.properties.handler, 'eh');
    assert.equal(click.context.page.path, ROUTE);
    assert.equal(one('add_to_cart').properties.sku, 'TEA-1');
    assert.equal(one('add_to_cart').context.page.path, ROUTE);

    assertShareAndLeave(stored, { route: ROUTE, sharePath: '/pages/index/index?sku=TEA-1' });
  });
});

describe('which build a framework bundler picks', () => {
  // Taro's webpack and uni's vite bundle node_modules for mini-programs with browser
  // conditions: a bare 'maidian' is the web build (fetch / WebAssembly, which a mini-program
  // does not have), hence `maidian/miniprogram` in both recipes (docs/WRAPPER.md).
  it("'maidian' is the web build, 'maidian/miniprogram' the mini-program build", {
    skip: fs.existsSync(shipped) ? false : 'run `cargo xtask build-sdk` first',
  }, () => {
    assert.ok(bundledWrapperFiles('maidian').includes('dist/web/index.js'));
    assert.deepEqual(
      bundledWrapperFiles('maidian/miniprogram').filter((f) => f !== '<stdin>'),
      ['miniprogram_dist/index.js'],
    );
  });
});
