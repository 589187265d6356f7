/**
 * The mini-program wrapper (hooks, adapters, client) in the simulated realm, against the JS
 * double of the core (support/fake-core.mjs): what the wrapper hands the core, in which order,
 * and that the app's own code behaves exactly as without the SDK.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAppHost, createStorage, waitFor } from './support/app-host.mjs';
import { fakeCoreBundle } from './support/bundle.mjs';

/** deepEqual across realms (the app's arrays and objects have the realm's prototypes). */
const same = (actual, expected, msg) =>
  assert.deepEqual(JSON.parse(JSON.stringify(actual)), expected, msg);

const INIT = `md.init({ serverUrl: 'http://127.0.0.1:9', writeKey: 'k', batch: { size: 1000 } });`;

/** Starts an app whose app.js is `appCode` (with `md` in scope) and waits for the core. */
async function start({ appCode = '', init = INIT, storage, request, wxOverrides } = {}) {
  const host = createAppHost({
    mounts: { 'miniprogram_npm/maidian': fakeCoreBundle() },
    storage,
    request:
      request || ((_opts, cb) => setTimeout(() => cb.success({ statusCode: 200, header: {} }), 0)),
    wxOverrides,
  });
  host.run(`globalThis.md = require('maidian'); ${init}\n${appCode}`);
  const md = host.require('maidian');
  return { host, md, core: () => md.fake.instances[md.fake.instances.length - 1] };
}

const names = (core) =>
  core.calls.map(([n]) => n).filter((n) => n !== 'setNetwork' && n !== 'sent' && n !== 'tick');

describe('App hooks', () => {
  it('run the app lifecycle first, keep this/return values, then report', async () => {
    const { host, md, core } = await start({
      appCode: `App({
        globalData: { n: 0 },
        onLaunch(o) { this.globalData.n += 1; md.register({ from_launch: o.scene }); return 'launched'; },
        onShow() { md.register({ plan: 'gold' }); },
        whoAmI() { return this; },
      });`,
    });
    const ret = host.app.onLaunch.call(host.app, {
      path: 'pages/home/home',
      query: { a: '1' },
      scene: 1047,
    });
    assert.equal(ret, 'launched');
    host.app.onShow.call(host.app, { scene: 1047 });
    assert.equal(host.app.globalData.n, 1);
    assert.equal(host.app.whoAmI(), host.app);
    assert.equal(await md.ready(), true);
    // register() called inside onShow precedes the $app_show input: the event carries it.
    same(names(core()), ['register', 'appLaunch', 'register', 'appShow']);
    const show =
      core().chunks.size &&
      [...core().chunks.values()]
        .flat()
        .map((l) => JSON.parse(l))
        .find((m) => m.event === '$app_show');
    assert.equal(show.properties.plan, 'gold');
  });

  it('calls made before the core is ready keep their order and original times', async () => {
    const { host, md, core } = await start({ appCode: 'App({});' });
    const t0 = Date.now();
    md.track('early', { i: 1 });
    host.launch();
    md.track('later', { i: 2 });
    assert.equal(md.status(), 'loading');
    await md.ready();
    const calls = core().calls.filter(([n]) => n !== 'setNetwork');
    same(
      calls.map(([n]) => n),
      ['track', 'appLaunch', 'appShow', 'track'],
    );
    for (const [, t] of calls) assert.ok(t >= t0 && t <= Date.now());
    const times = calls.map(([, t]) => t);
    same(
      times,
      [...times].sort((a, b) => a - b),
    );
  });

  it('an exception in the app lifecycle still propagates, and the event is still reported', async () => {
    const { host, md, core } = await start({
      appCode: `App({ onHide() { throw new Error('app bug'); } });`,
    });
    host.launch();
    assert.throws(() => host.app.onHide.call(host.app), /app bug/);
    await md.ready();
    assert.ok(names(core()).includes('appHide'));
  });

  it('read-only lifecycle objects (frozen App options) fall back to wx.onAppShow / onAppHide', async () => {
    const { host, md, core } = await start({
      appCode: `const o = {}; let shows = 0;
        Object.defineProperty(o, 'onShow', { value() { shows += 1; }, writable: false, enumerable: true });
        Object.defineProperty(o, 'onLaunch', { value() {}, writable: false, enumerable: true });
        App(Object.freeze(o)); globalThis.shows = () => shows;`,
    });
    host.launch();
    host.hideApp();
    assert.equal(host.realm.run('shows()'), 1);
    await md.ready();
    same(names(core()), ['appLaunch', 'appShow', 'appHide']);
  });
  it('the fallback still reports the launch when getLaunchOptionsSync throws (empty options)', async () => {
    const { host, md, core } = await start({
      appCode: 'App(Object.freeze({ onShow() {} }));',
      wxOverrides: {
        getLaunchOptionsSync: () => {
          throw new Error('getLaunchOptionsSync:fail');
        },
      },
    });
    host.launch();
    await md.ready();
    same(names(core()), ['appLaunch', 'appShow']);
    same(core().launch, { query: {} });
  });
});

describe('explicit lifecycle reporting (md.lifecycle)', () => {
  it('reports app and page events with normalised options, and never throws', async () => {
    // No App()/Page() at all: only what the framework reports explicitly reaches the core (a
    // throw from any of these calls would fail `start`, which runs this code as app.js).
    const { md, core } = await start({
      appCode: `md.lifecycle.appLaunch({ path: 'pages/a/a', query: { from: 'qr' }, scene: '1047' });
        md.lifecycle.appShow({ scene: 1001 });
        md.lifecycle.pageShow({ route: 'pages/a/a', options: { id: '7' } });
        md.lifecycle.pageHide({ route: 'pages/a/a' });
        md.lifecycle.appHide();
        md.lifecycle.appLaunch(null);
        md.lifecycle.pageHide();`,
    });
    await md.ready();
    const c = core();
    same(names(c), [
      'appLaunch',
      'appShow',
      'pageShow',
      'pageHide',
      'appHide',
      'appLaunch',
      'pageHide',
    ]);
    // The last launch had no options object: an empty, well-formed one reached the core.
    same(c.launch, { query: {} });
    const events = [...c.chunks.values()].flat().map((l) => JSON.parse(l));
    same(
      events.filter((e) => e.event === '$app_launch').map((e) => e.properties),
      [{ path: 'pages/a/a', scene: 1047 }, {}],
    );
    const view = events.find((e) => e.type === 'page');
    same([view.name, view.properties.query], ['pages/a/a', { id: '7' }]);
  });
});

describe('Page hooks', () => {
  const PAGE = `
    Page({
      data: { items: [] },
      onLoad(q) { this.loaded = q; },
      onShow() { md.register({ seen: this.route }); },
      async onBuyTap(e) { await null; return 'bought:' + e.currentTarget.dataset.sku; },
      helper(x) { return x * 2; },
      onShareAppMessage() { return { title: 't', path: '/pages/detail/detail?sku=1' }; },
      onShareTimeline() { return { title: 't', query: 'sku=2' }; },
    });`;

  it('page show/hide/unload, taps with dataset, helpers untouched, async handlers', async () => {
    const { host, md, core } = await start({ appCode: 'App({});' });
    host.run(PAGE, 'pages/detail/detail');
    host.launch();
    const page = host.open('pages/detail/detail', { sku: '1' });
    same(page.loaded, { sku: '1' });
    const p = host.tap(page, 'onBuyTap', { id: 'buy', dataset: { sku: 'S1', mdPos: 3 } });
    assert.equal(await p, 'bought:S1');
    assert.equal(page.helper(21), 42);
    host.tap(page, 'onBuyTap', { type: 'longpress', dataset: { sku: 'S2' } });
    page.onBuyTap({ type: 'input', currentTarget: { dataset: { sku: 'S3' } } });
    host.back();
    await md.ready();
    const c = core();
    same(names(c), ['appLaunch', 'appShow', 'register', 'pageShow', 'tap', 'tap', 'pageHide']);
    const events = [...c.chunks.values()].flat().map((l) => JSON.parse(l));
    const clicks = events.filter((e) => e.event === '$click');
    assert.equal(clicks.length, 2);
    same(clicks[0].properties, {
      seen: 'pages/detail/detail',
      element_type: 'tap',
      handler: 'onBuyTap',
      element_id: 'buy',
      mdPos: 3,
    });
    assert.equal(clicks[1].properties.element_type, 'longpress');
    const view = events.find((e) => e.type === 'page');
    assert.equal(view.name, 'pages/detail/detail');
    same(view.properties.query, { sku: '1' });
  });

  it('an enumerable Object.prototype property (old polyfills) is not hooked as a lifecycle', async () => {
    const { host, md, core } = await start({ appCode: 'App({});' });
    host.run(
      `Object.defineProperty(Object.prototype, 'onPolluted', { value: 1, enumerable: true, writable: true, configurable: true });
      const opts = { onShow() {} };
      Page(opts);
      globalThis.own = Object.keys(opts);
      delete Object.prototype.onPolluted;`,
      'pages/p/p',
    );
    same(host.realm.run('own').sort(), ['onHide', 'onLoad', 'onReady', 'onShow', 'onUnload']);
    host.launch();
    host.open('pages/p/p');
    await md.ready();
    same(names(core()), ['appLaunch', 'appShow', 'pageShow']);
  });

  it('share: reported, payload untouched by default, no handler added where there was none', async () => {
    const { host, md, core } = await start({ appCode: 'App({});' });
    host.run(PAGE, 'pages/detail/detail');
    host.run('Page({ onShow() {} });', 'pages/plain/plain');
    host.launch();
    const page = host.open('pages/detail/detail');
    const payload = host.share(page);
    same(payload, { title: 't', path: '/pages/detail/detail?sku=1' });
    same(host.share(page, 'onShareTimeline'), { title: 't', query: 'sku=2' });
    const plain = host.open('pages/plain/plain');
    assert.equal(plain.onShareAppMessage, undefined);
    assert.equal(plain.onShareTimeline, undefined);
    await md.ready();
    const shares = [...core().chunks.values()]
      .flat()
      .map((l) => JSON.parse(l))
      .filter((e) => e.event === '$share')
      .map(({ properties: p }) => ({ method: p.method, from: p.from, path: p.path }));
    // The path shared: the payload's `path` (message), the page route plus `query` (timeline).
    same(shares, [
      { method: 'message', from: 'menu', path: '/pages/detail/detail?sku=1' },
      { method: 'timeline', from: 'menu', path: '/pages/detail/detail?sku=2' },
    ]);
  });

  it('share with augment: async results and the `promise` field get the share chain', async () => {
    const { host, md } = await start({
      init: `md.init({ serverUrl: 'http://127.0.0.1:9', writeKey: 'k', share: { augment: true } });`,
      appCode: 'App({});',
    });
    host.run(
      `Page({
        onShareAppMessage() { return { title: 'sync', path: '/pages/a/a', promise: Promise.resolve({ title: 'later', path: '/pages/a/a?x=1' }) }; },
        onShareTimeline() { return Promise.resolve({ title: 'tl', query: 'x=2' }); },
      });`,
      'pages/a/a',
    );
    host.launch();
    await md.ready();
    const page = host.open('pages/a/a');
    const msg = host.share(page);
    assert.match(msg.path, /^\/pages\/a\/a\?md_sharer=[0-9a-f-]{36}&md_depth=1&md_method=message$/);
    assert.match((await msg.promise).path, /^\/pages\/a\/a\?x=1&md_sharer=/);
    const tl = await host.share(page, 'onShareTimeline');
    assert.match(tl.query, /^x=2&md_sharer=/);
    assert.equal(tl.title, 'tl');
  });

  it('Component used as a page, with page lifecycles and tap handlers in methods', async () => {
    const { host, md, core } = await start({ appCode: 'App({});' });
    host.run(
      `Component({ methods: {
        onLoad(q) { this.q = q; },
        onTap(e) { return this.route + ':' + e.currentTarget.id; },
      } });`,
      'pages/c/c',
    );
    host.launch();
    const page = host.open('pages/c/c', { id: '9' });
    assert.equal(host.tap(page, 'onTap', { id: 'btn' }), 'pages/c/c:btn');
    host.back();
    await md.ready();
    same(names(core()), ['appLaunch', 'appShow', 'pageShow', 'tap', 'pageHide']);
    same(page.q, { id: '9' });
  });

  it('event invokers put on the instance at render (uni-app Vue 3) are wrapped, patches reach them', async () => {
    const { host, md, core } = await start({ appCode: 'App({});' });
    // What uni-mp-vue's vOn/createInvoker do: `this.e0 = invoker` while rendering (in
    // `attached` and before each setData), re-renders set `invoker.value` in place.
    host.run(
      `const invoker = (fn) => { const inv = (e) => inv.value(e); inv.value = fn; return inv; };
      Component({
        lifetimes: { attached() { this.$vm = {}; this.e0 = invoker((e) => 'first:' + e.currentTarget.id); } },
        methods: {
          rerender() {
            this.e0.value = (e) => 'patched:' + e.currentTarget.id;
            this.e1 = invoker((e) => 'new:' + e.currentTarget.id);
            this.setData({ a: 'e0', b: 'e1' });
          },
          notAnInvoker(x) { return x; },
        },
      });`,
      'pages/u/u',
    );
    host.launch();
    const page = host.open('pages/u/u');
    assert.equal(host.tap(page, 'e0', { id: 'a' }), 'first:a');
    page.rerender();
    assert.equal(host.tap(page, 'e0', { id: 'a' }), 'patched:a', 'the patch reached the invoker');
    assert.equal(host.tap(page, 'e1', { id: 'b' }), 'new:b');
    assert.equal(page.notAnInvoker(7), 7);
    // A native component (no Vue instance) keeps its own setData.
    host.run(
      'Component({ lifetimes: { attached() { this.own = this.setData; } }, methods: {} });',
      'pages/n/n',
    );
    const native = host.open('pages/n/n');
    assert.equal(native.setData, native.own);
    await md.ready();
    const taps = [...core().chunks.values()]
      .flat()
      .map((l) => JSON.parse(l))
      .filter((e) => e.event === '$click')
      .map((e) => [e.properties.handler, e.properties.element_id]);
    same(taps, [
      ['e0', 'a'],
      ['e0', 'a'],
      ['e1', 'b'],
    ]);
  });
});

describe('exposure', () => {
  it('observes the class after ready, reads data-md-*, caps nodes, disconnects on hide, rescans', async () => {
    const { host, md, core } = await start({
      init: `md.init({ serverUrl: 'http://127.0.0.1:9', writeKey: 'k', exposure: { maxNodes: 3 } });`,
      appCode: 'App({});',
    });
    host.run(
      `Page({ onLoad() { this.setData({ items: [1, 2] }, () => md.rescanExposure(this)); } });`,
      'pages/list/list',
    );
    host.launch();
    const page = host.open('pages/list/list');
    const live = () => host.observers.filter((o) => o.owner === page && o.connected);
    assert.equal(live().length, 1);
    same(live()[0].options, { observeAll: true, thresholds: [0, 0.5, 1] });
    assert.equal(live()[0].selector, '.md-expose');
    host.expose(page, { dataset: { mdKey: 'sku-1', mdSku: 'S1' }, ratio: 0.8 });
    host.expose(page, { id: 'banner', dataset: {}, ratio: 1 });
    host.expose(page, { dataset: {}, ratio: 1 }); // no key: ignored with a warning
    host.expose(page, { dataset: { mdKey: 'sku-2' }, ratio: 0.2 });
    host.expose(page, { dataset: { mdKey: 'sku-3' }, ratio: 1 }); // over the cap of 3 keys
    md.rescanExposure(page);
    assert.equal(live().length, 1, 'a rescan replaces the observer');
    host.back();
    assert.equal(live().length, 0, 'disconnected on unload');
    await md.ready();
    const entries = core().calls.filter(([n]) => n === 'exposure').length;
    assert.equal(entries, 3);
    const exposures = [...core().chunks.values()]
      .flat()
      .map((l) => JSON.parse(l))
      .filter((e) => e.event === '$exposure');
    same(
      exposures.map((e) => e.properties.element_key),
      ['sku-1', 'banner'],
    );
    assert.equal(exposures[0].properties.mdSku, 'S1');
  });
});

describe('effects', () => {
  it('persist is synchronous; send is a binary POST with headers; status and Retry-After go back', async () => {
    const storage = createStorage();
    const seen = [];
    const { host, md, core } = await start({
      storage,
      request: (opts, cb) => {
        seen.push({ ...opts, storedAtSend: [...storage.map.keys()] });
        setTimeout(() => cb.success({ statusCode: 503, header: { 'retry-after': '7' } }), 0);
      },
    });
    host.run('App({});');
    host.launch();
    await md.ready();
    await waitFor(() => core().outcomes?.length, 'the outcome of the first request');
    assert.equal(seen.length, 1);
    const r = seen[0];
    assert.equal(r.method, 'POST');
    assert.equal(r.url, 'http://127.0.0.1:9/v1/batch');
    assert.ok(
      r.data instanceof host.realm.run('ArrayBuffer'),
      'the body is an ArrayBuffer of the realm',
    );
    assert.equal(r.header['X-Write-Key'], 'k');
    assert.equal(r.timeout, 60000);
    const body = JSON.parse(Buffer.from(r.data).toString());
    same(
      body.batch.map((e) => e.event),
      ['$app_launch'],
    );
    assert.ok(
      r.storedAtSend.some((k) => k.startsWith('md_q')),
      'events were stored before the request',
    );
    same(core().outcomes, [{ batchId: 1, status: 503, retryAfter: 7 }]);
  });

  it('no response is status 0; a storage write over the per-key limit warns and the app goes on', async () => {
    const storage = createStorage({ perKeyLimit: 200 });
    const { host, md, core } = await start({
      storage,
      request: (_opts, cb) => setTimeout(() => cb.fail({ errMsg: 'request:fail' }), 0),
    });
    host.run('App({});');
    host.launch();
    md.track('big', { text: 'x'.repeat(500) });
    await md.ready();
    await waitFor(() => core().outcomes?.length, 'the failed request');
    assert.equal(core().outcomes[0].status, 0);
    assert.equal(core().outcomes[0].retryAfter, undefined);
    // The failed write is reported to the core (which accounts for it), with its key.
    assert.ok(
      core().persistFailures?.some((key) => /^md_q\d+$/.test(key)),
      `persistFailed not reported: ${JSON.stringify(core().persistFailures)}`,
    );
  });
});
