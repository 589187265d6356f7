/**
 * uni-app (Vue 3) with the REAL mini-program runtime packages (@dcloudio/uni-mp-weixin's
 * `uni.mp.esm.js` + `uni.api.esm.js`, @dcloudio/uni-mp-vue, @dcloudio/uni-shared,
 * @dcloudio/uni-i18n; versions in package.json) in the simulated mini-program realm, the shipped
 * `maidian/miniprogram` bundled into `common/vendor.js` as uni's vite build would, the real
 * wasm core, a real collector.
 *
 * The app is uni-app/dist (the CLI's output for main.js, App.vue and one page, hand-written: see
 * there). uni registers the app with `App(parseApp(vm))` from `createSSRApp(App).mount()`, and the
 * page with `Component(parsePage(...))` (a component used as a page); the template's tap handler
 * is an invoker (`e0`, …) that Vue's render installs on the page INSTANCE, not in `methods`.
 *
 * The page renders a child component (`createComponent` -> `Component()`), with its own exposure
 * observer and invoker.
 *
 * Drives launch -> page show -> exposure -> tap (page and child) -> share -> hide, then checks
 * every stored event
 * and that uni's own lifecycles (App.vue and the page) ran with their arguments and that the
 * share handler's payload came back unchanged.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { miniprogramDist } from '../realm/paths.mjs';
import { createAppHost, waitFor } from '../realm/support/app-host.mjs';
import { collectorUnavailable, startCollector } from '../realm/support/collector.mjs';
import {
  buildVendor,
  frameworksDir,
  installedVersion,
  prepareRealm,
  prerequisitesMissing,
  removeTempDirs,
  sdkConfigModule,
} from './support/build.mjs';
import { assertLaunch, assertShareAndLeave, storedExactly } from './support/stored.mjs';

const dist = path.join(frameworksDir, 'uni-app', 'dist');
const shipped = path.join(miniprogramDist, 'index.js');
const skip = prerequisitesMissing({ shippedEntry: shipped, collectorUnavailable });

/**
 * `common/vendor.js`, imports in the order the vite build evaluates them: uni.api.esm.js first
 * (the `uni` / `wx` inject plugin imports it into every module that uses them, Vue's runtime
 * included), then what the main.js plugin prepends (`uni-mp-runtime` = uni.mp.esm.js, which
 * wraps the global `Page` / `Component`), then the app's own imports (`maidian/miniprogram`).
 * The `_export_sfc` helper is @vitejs/plugin-vue's `\0plugin-vue:export-helper`.
 */
const VENDOR_ENTRY = `
import uniApi, { wx } from '@dcloudio/uni-mp-weixin/dist/uni.api.esm.js';
import 'uni-mp-runtime';
import { createSSRApp, o, p, t } from 'vue';
import md from 'maidian/miniprogram';
const _export_sfc = (sfc, props) => {
  const target = sfc.__vccOpts || sfc;
  for (const [key, val] of props) target[key] = val;
  return target;
};
export { uniApi as index, wx, createSSRApp, o, p, t, _export_sfc, md };
`;

/** uni-cli-shared's `initDefine` + vue feature flags + uni-mp-weixin's own define (mp-weixin). */
const UNI_DEFINE = {
  'process.env.NODE_ENV': '"production"',
  'process.env.UNI_DEBUG': 'false',
  'process.env.UNI_APP_ID': '""',
  'process.env.UNI_APP_NAME': '"shop"',
  'process.env.UNI_APP_VERSION_NAME': '"1.0.0"',
  'process.env.UNI_APP_VERSION_CODE': '"100"',
  'process.env.UNI_PLATFORM': '"mp-weixin"',
  'process.env.UNI_SUB_PLATFORM': '""',
  'process.env.UNI_MP_PLUGIN': '""',
  'process.env.UNI_SUBPACKAGE': '""',
  'process.env.UNI_COMPILER_VERSION': '""',
  __UNI_PRELOAD_SHADOW_IMAGE__: '""',
  __VUE_OPTIONS_API__: 'true',
  __VUE_PROD_DEVTOOLS__: 'false',
  __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
  __VUE_CREATED_DEFERRED__: 'false',
  __UNI_FEATURE_PROMISE__: 'false',
};

const ROUTE = 'pages/index/index';
const CARD = 'components/product-card/product-card';

const UNI_WX_APIS = {
  canIUse: () => true,
};

describe(`uni-app ${skip ? '' : installedVersion('@dcloudio/uni-mp-weixin')} (Vue 3) in the mini-program realm`, {
  skip: skip || false,
}, () => {
  let collector;
  let vendor;
  before(async () => {
    const injectFile = path.join(frameworksDir, 'uni-app', 'inject-uni.mjs');
    vendor = buildVendor({
      entry: VENDOR_ENTRY,
      define: UNI_DEFINE,
      alias: {
        vue: '@dcloudio/uni-mp-vue',
        'uni-mp-runtime': '@dcloudio/uni-mp-weixin/dist/uni.mp.esm.js',
      },
      inject: [injectFile],
    });
    collector = await startCollector();
  });
  after(async () => {
    await collector?.stop();
    removeTempDirs();
  });

  it('records launch, page view, exposure, click, share and hide; uni still works', async () => {
    const config = sdkConfigModule(collector.url);
    const host = createAppHost({
      mounts: {
        'app.js': path.join(dist, 'app.js'),
        pages: path.join(dist, 'pages'),
        components: path.join(dist, 'components'),
        'common/vendor.js': vendor,
        'config.js': config,
        // uni-app copies `static/` as-is (docs/WRAPPER.md, uni-app recipe).
        'static/maidian': miniprogramDist,
      },
      // WeChat APIs uni's runtime calls at start that tests/realm's fake `wx` does not have.
      wxOverrides: UNI_WX_APIS,
    });
    const log = prepareRealm(host);

    host.load('app.js');
    host.load(`${ROUTE}.js`, ROUTE);
    host.load(`${CARD}.js`);
    const { md } = host.require('/common/vendor.js');

    host.launch({ path: ROUTE, query: { utm_source: 'uni' }, scene: 1047 });
    const page = host.open(ROUTE, { from: 'qr' });
    assert.equal(await md.ready(), true, 'the wasm core started');

    // Vue rendered the page: the tap binding `a` names the invoker installed on the instance.
    const handler = await waitFor(() => page.data.a, 'Vue to render the page');
    assert.equal(typeof page[handler], 'function');
    // The page's template renders <product-card u-i="3d1b2a10-0" bind:__l="__l" u-p="{{c}}"/>:
    // uni links it to the page through the `__l` event, Vue mounts it with the cached props.
    const [cardOptions] = host.componentDefs;
    const card = host.mountComponent(page, cardOptions, {
      is: CARD,
      properties: { uI: '3d1b2a10-0', uP: page.data.c },
      events: { __l: '__l' },
    });
    assert.equal(card.data.a, 'card-TEA-2', 'the child rendered with the page-given props');

    // What WeChat hands the page for <view id="tea-1" class="card md-expose" data-md-sku="TEA-1">.
    const node = { id: 'tea-1', dataset: { mdSku: 'TEA-1' } };
    const queued = () => md.inspect().stats.eventsQueued;
    const before = queued();
    assert.equal(host.expose(page, { ...node, ratio: 1 }), 1, 'one observer on the page');
    await waitFor(() => queued() > before, 'the exposure after the dwell time');

    // uni runs a bubbling event's handler from a timer (unless data-eventsync="true"), so the
    // invoker returns nothing and the app's handler runs just after.
    host.tap(page, handler, node);
    await waitFor(() => page.data.b === '1', 'the handler to run and Vue to re-render');

    // Inside the child component: its own observer (a page's cannot see into it) and invoker.
    const cardNode = { id: 'card-TEA-2', dataset: { mdSku: 'TEA-2' } };
    const beforeCard = queued();
    assert.equal(host.expose(card, { ...cardNode, ratio: 1 }), 1, 'one observer in the card');
    await waitFor(() => queued() > beforeCard, 'the card exposure after the dwell time');
    host.tap(card, card.data.c, cardNode);
    await waitFor(() => card.data.d === '1', "the card's handler to run");

    const payload = host.share(page);
    assert.deepEqual({ ...payload }, { title: 'Tea', path: '/pages/index/index?sku=TEA-1' });

    host.hideApp();
    assert.deepEqual(log(), [
      ['App.onLaunch', 1047],
      ['App.onShow', 1047],
      ['Index.onLoad', 'qr'],
      ['Index.onShow'],
      ['ProductCard.mounted', 'TEA-2'],
      ['Index.onAdd', 'tea-1'],
      ['ProductCard.onPick', 'TEA-2', 'card-TEA-2'],
      ['Index.onHide'],
      ['App.onHide'],
    ]);

    const expected = {
      $app_launch: 1,
      $app_show: 1,
      [`page:${ROUTE}`]: 1,
      $exposure: 2,
      $click: 2,
      add_to_cart: 1,
      $share: 1,
      $page_leave: 1,
      $app_hide: 1,
    };
    const stored = await storedExactly(collector, host, expected);
    const { one } = stored;

    assertLaunch(stored, { scene: 1047, source: 'uni', route: ROUTE });

    const { all } = stored;
    const exposures = all('$exposure').map((e) => [
      e.properties.element_key,
      e.properties.mdSku,
      e.context.page.path,
    ]);
    assert.deepEqual(exposures.sort(), [
      ['card-TEA-2', 'TEA-2', ROUTE],
      ['tea-1', 'TEA-1', ROUTE],
    ]);

    const clicks = all('$click').map((e) => [
      e.properties.element_id,
      e.properties.handler,
      e.properties.mdSku,
      e.context.page.path,
    ]);
    assert.deepEqual(clicks.sort(), [
      ['card-TEA-2', card.data.c, 'TEA-2', ROUTE],
      ['tea-1', handler, 'TEA-1', ROUTE],
    ]);
    assert.equal(one('add_to_cart').properties.sku, 'TEA-1');

    assertShareAndLeave(stored, { route: ROUTE, sharePath: '/pages/index/index?sku=TEA-1' });
  });
});
