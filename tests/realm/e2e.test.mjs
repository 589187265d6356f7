/**
 * End to end: the SHIPPED `miniprogram_dist` (wrapper + glue + .wasm.br, real core) in the
 * simulated mini-program realm, its `wx.request` doing real HTTP to a real collector on
 * loopback. launch -> pages -> taps -> exposures -> share -> hide -> killed -> relaunch, then
 * the collector's files are checked event by event: names, key properties, counts, nothing
 * lost, nothing stored twice.
 *
 * Skips only when a prerequisite is missing (the collector cannot be built, or the built wasm
 * has no core), and says which.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { miniprogramDist, packageJson, requireBuilt } from './paths.mjs';
import { createAppHost, createStorage, waitFor } from './support/app-host.mjs';
import { collectorUnavailable, startCollector } from './support/collector.mjs';

const bundle = fs.readFileSync(requireBuilt(path.join(miniprogramDist, 'index.js')), 'utf8');
const missing = !bundle.includes('Maidian')
  ? 'the built wasm has no SDK core (sdk-wasm bindings export no `Maidian`)'
  : collectorUnavailable();

const HOME = `
const md = require('maidian');
Page({
  onShow() {},
  onProductTap(e) { return e.currentTarget.dataset.sku; },
});`;
const DETAIL = `
const md = require('maidian');
Page({
  onLoad(q) { this.sku = q.sku; },
  onAddTap(e) { md.track('add_to_cart', { sku: this.sku, price: 59.9, quantity: 1 }); },
  onShareAppMessage() { return { title: 'look', path: '/pages/detail/detail?sku=' + this.sku }; },
});`;

function app(url) {
  return `
const md = require('maidian');
md.init({ serverUrl: '${url}', writeKey: 'demo-key', consent: 'granted',
          batch: { size: 100, intervalMs: 60000 }, exposure: { dwellMs: 50 } });
App({ onLaunch() {}, onShow() { md.register({ app_build: 'e2e' }); } });`;
}

describe('end to end: shipped mini-program package -> real collector', {
  skip: missing || false,
}, () => {
  let collector;
  before(async () => {
    collector = await startCollector();
  });
  after(async () => {
    await collector?.stop();
  });

  function boot(storage) {
    const host = createAppHost({ mounts: { 'miniprogram_npm/maidian': miniprogramDist }, storage });
    host.run(app(collector.url));
    host.run(HOME, 'pages/home/home');
    host.run(DETAIL, 'pages/detail/detail');
    return { host, md: host.require('maidian') };
  }

  it('delivers every event exactly once across a kill and a relaunch', async () => {
    const storage = createStorage();

    // ---- run 1
    const one = boot(storage);
    one.host.launch({
      path: 'pages/home/home',
      query: { utm_source: 'qr', utm_campaign: 'spring' },
      scene: 1047,
    });
    const home = one.host.open('pages/home/home');
    assert.equal(await one.md.ready(), true, 'the wasm core started in the realm');
    one.host.expose(home, { dataset: { mdKey: 'rec-TEA-1', mdSku: 'TEA-1' }, ratio: 1 });
    one.host.expose(home, { id: 'banner', ratio: 0.9 });
    one.host.expose(home, { dataset: { mdKey: 'rec-TEA-2' }, ratio: 0.1 }); // below the ratio
    const queued = () => one.md.inspect().stats.eventsQueued;
    const before2 = queued();
    await waitFor(() => queued() >= before2 + 2, 'two exposures after the dwell time');
    assert.equal(
      one.host.tap(home, 'onProductTap', { id: 'p1', dataset: { sku: 'TEA-1', mdPos: 0 } }),
      'TEA-1',
    );
    const detail = one.host.open('pages/detail/detail', { sku: 'TEA-1' });
    one.host.tap(detail, 'onAddTap', { id: 'add' });
    const payload = one.host.share(detail);
    assert.deepEqual(
      { ...payload },
      { title: 'look', path: '/pages/detail/detail?sku=TEA-1' },
      'payload not rewritten',
    );
    one.host.hideApp();
    // Killed right after hide: whatever was not acknowledged must still be in storage.
    one.host.kill();
    const anonymousId = one.md.inspect().anonymousId;
    assert.ok(anonymousId);

    // ---- run 2: same storage, new process
    const two = boot(storage);
    two.host.launch({ path: 'pages/home/home', query: {}, scene: 1001 });
    two.host.open('pages/home/home');
    assert.equal(await two.md.ready(), true);
    two.host.hideApp();

    const expected = {
      $app_launch: 2,
      $app_show: 2,
      'page:pages/home/home': 2,
      'page:pages/detail/detail': 1,
      $exposure: 2,
      $click: 2,
      add_to_cart: 1,
      $share: 1,
      $page_leave: 3,
      $app_hide: 2,
    };
    const total = Object.values(expected).reduce((a, b) => a + b, 0);
    const key = (e) => (e.type === 'page' ? `page:${e.name}` : e.event);
    await waitFor(
      () => collector.events().filter((e) => e.event !== '$sdk_diagnostic').length >= total,
      `${total} events in the collector's files`,
      20000,
    );
    // Let any straggling duplicate arrive before counting (a resend is acknowledged as such).
    await waitFor(
      () => two.host.requests.every((r) => r.status !== undefined),
      'every request answered',
    );
    const stored = collector.events().filter((e) => e.event !== '$sdk_diagnostic');
    const counts = {};
    for (const e of stored) counts[key(e)] = (counts[key(e)] || 0) + 1;
    assert.deepEqual(counts, expected);
    const ids = new Set(stored.map((e) => e.messageId));
    assert.equal(ids.size, stored.length, 'no event stored twice');
    assert.ok(
      stored.every((e) => e.anonymousId === anonymousId),
      'one device id across runs',
    );

    const by = (k) => stored.filter((e) => key(e) === k);
    const [launch1, launch2] = by('$app_launch').sort((a, b) =>
      a.originalTimestamp.localeCompare(b.originalTimestamp),
    );
    assert.equal(launch1.properties.first_visit, true);
    assert.equal(launch2.properties?.first_visit, undefined);
    assert.equal(launch1.context.miniProgram.scene, 1047);
    assert.equal(launch1.context.campaign.source, 'qr');
    assert.equal(launch1.context.miniProgram.platform, 'wechat');
    assert.equal(launch1.context.library.name, 'maidian-miniprogram');
    // The shipped wasm is this package's version (the mini-program bundle exports no `version()`).
    assert.equal(launch1.context.library.version, packageJson.version);
    // The host context the wrapper collects from the wx info APIs of support/app-host.mjs.
    const { app, device, os, screen, locale, miniProgram } = launch1.context;
    assert.deepEqual(
      { app, device, os, screen, locale, miniProgram },
      {
        app: { id: 'wx0123456789abcdef', env: 'develop' },
        device: { brand: 'devtools', model: 'iPhone 15' },
        os: { name: 'iOS', version: '17.4.1' },
        screen: { width: 390, height: 844, density: 3 },
        locale: 'zh_CN',
        miniProgram: {
          platform: 'wechat',
          scene: 1047,
          baseLibraryVersion: '3.6.4',
          hostVersion: '8.0.50',
          launchPath: 'pages/home/home',
        },
      },
    );
    assert.equal(
      by('$app_show')[0].properties.app_build,
      'e2e',
      'onShow ran before the event was built',
    );
    const clicks = by('$click');
    const productTap = clicks.find((e) => e.properties.element_id === 'p1');
    assert.equal(productTap.properties.handler, 'onProductTap');
    assert.equal(productTap.properties.mdPos, 0);
    assert.equal(productTap.context.page.path, 'pages/home/home');
    assert.deepEqual(
      by('$exposure')
        .map((e) => e.properties.element_key)
        .sort(),
      ['banner', 'rec-TEA-1'],
    );
    assert.equal(by('add_to_cart')[0].properties.sku, 'TEA-1');
    assert.equal(by('add_to_cart')[0].context.page.path, 'pages/detail/detail');
    const share = by('$share')[0];
    assert.equal(share.properties.method, 'message');
    assert.equal(share.properties.path, '/pages/detail/detail?sku=TEA-1');
    // Every request had a binary gzip body, and the collector answered 200.
    for (const r of [...one.host.requests, ...two.host.requests]) {
      assert.equal(r.header['Content-Encoding'], 'gzip');
      assert.equal(new Uint8Array(r.data)[0], 0x1f);
    }
    assert.ok(two.host.requests.some((r) => r.status === 200));
  });
});

describe('autoTrack switches with the shipped package (real core, no network)', {
  skip: !bundle.includes('Maidian') && 'the built wasm has no SDK core',
}, () => {
  it('autoTrack.click false: the core records no $click for the taps the hooks report', async () => {
    const host = createAppHost({
      mounts: { 'miniprogram_npm/maidian': miniprogramDist },
      request: (_opts, cb) => setTimeout(() => cb.fail({ errMsg: 'offline' }), 0),
    });
    host.run(`
const md = require('maidian');
md.init({ serverUrl: 'http://127.0.0.1:9', writeKey: 'k', consent: 'granted',
          autoTrack: { click: false }, batch: { size: 100, intervalMs: 60000 } });
App({});`);
    host.run(HOME, 'pages/home/home');
    const md = host.require('maidian');
    host.launch();
    const home = host.open('pages/home/home');
    assert.equal(await md.ready(), true);
    const queued = () => md.inspect().stats.eventsQueued;
    const before = queued();
    assert.equal(host.tap(home, 'onProductTap', { id: 'p1', dataset: { sku: 'TEA-1' } }), 'TEA-1');
    md.track('after_tap');
    assert.equal(queued(), before + 1, 'only the tracked event was queued');
  });
});
