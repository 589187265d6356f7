/**
 * The example shop (`examples/miniprogram-shop`) running unchanged in the simulated realm, and a
 * driver that uses it like a person would: launch with a scene and query, tap what is on the
 * screen, look at exposure-marked cards for a while, share, leave the app, lose the network.
 *
 * - `require('maidian')` is the SHIPPED `js-wrapper/miniprogram_dist` (mounted where WeChat's
 *   "Build npm" puts it); `app.js`, `pages/**` and `utils/**` are the example's own files;
 *   `config.js` is replaced by one pointing at the test's collector.
 * - The realm has no wxml renderer, so `NODES` below describes, per page, the nodes of its
 *   `.wxml` that can be tapped or are exposure-marked, computed from the page's `data` the same
 *   way the template does (`wx:if`, `wx:for`, `id`, `data-*`). Keep it in step with the wxml.
 * - Device time is simulated: `device.clock.offsetMs` is added to the realm's `Date.now()`;
 *   `device.spend(ms)` is "the user looks at the screen for ms".
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { miniprogramDist, repoRoot } from '../paths.mjs';
import { createAppHost, createStorage } from './app-host.mjs';

export const shopDir = path.join(repoRoot, 'examples', 'miniprogram-shop');
export const shopPages = JSON.parse(fs.readFileSync(path.join(shopDir, 'app.json'), 'utf8')).pages;

/** A node of a page's wxml: `id`, `dataset` (as WeChat builds it), `bindtap`, exposure-marked. */
const node = (id, { dataset = {}, tap = null, expose = false, share = false } = {}) => ({
  id,
  dataset,
  tap,
  expose,
  share,
});

/** Per page: `data` -> the rendered nodes that matter (see each page's .wxml). */
export const NODES = {
  'pages/home/home': (d) => [
    ...(d.askConsent
      ? [node('consent-decline', { tap: 'onDecline' }), node('consent-accept', { tap: 'onAccept' })]
      : []),
    ...d.categories.map((c) =>
      node(`cat-${c.id}`, { dataset: { category: c.id }, tap: 'onCategoryTap' }),
    ),
    ...d.recommended.map((p, i) =>
      node(`rec-${p.sku}`, {
        dataset: { mdKey: `home-rec-${p.sku}`, mdSku: p.sku, mdSlot: i, sku: p.sku },
        tap: 'onProductTap',
        expose: true,
      }),
    ),
  ],
  'pages/list/list': (d) =>
    d.items.map((p, i) =>
      node(`item-${p.sku}`, {
        dataset: { mdKey: `list-${d.category}-${p.sku}`, mdSku: p.sku, mdPosition: i, sku: p.sku },
        tap: 'onProductTap',
        expose: true,
      }),
    ),
  'pages/detail/detail': (d) =>
    d.product
      ? [
          node('qty-minus', { tap: 'onMinus' }),
          node('qty-plus', { tap: 'onPlus' }),
          node('add-to-cart', { dataset: { sku: d.product.sku }, tap: 'onAddToCart' }),
          node('go-cart', { tap: 'onGoCart' }),
          node('share', { share: true }),
        ]
      : [],
  // `disabled` buttons do not fire taps.
  'pages/cart/cart': (d) => (d.lines.length ? [node('pay', { tap: 'onPay' })] : []),
  'pages/pay-success/pay-success': () => [node('back-home', { tap: 'onBackHome' })],
};

const configFiles = new Map();
/** A `config.js` for `serverUrl` (a temporary file, one per URL). */
function configFile(serverUrl, writeKey) {
  const k = `${serverUrl} ${writeKey}`;
  if (!configFiles.has(k)) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maidian-shop-config-'));
    const file = path.join(dir, 'config.js');
    fs.writeFileSync(file, `module.exports = ${JSON.stringify({ serverUrl, writeKey })};\n`);
    configFiles.set(k, file);
  }
  return configFiles.get(k);
}

/** The realm mounts of the shop: its own files, the shipped package, the test's config. */
export function shopMounts(serverUrl, writeKey = 'demo-key') {
  return {
    'miniprogram_npm/maidian': miniprogramDist,
    'app.js': path.join(shopDir, 'app.js'),
    'config.js': configFile(serverUrl, writeKey),
    pages: path.join(shopDir, 'pages'),
    utils: path.join(shopDir, 'utils'),
  };
}

/**
 * One phone with the shop installed. Storage and clock survive `kill()` + `launch()`, as on a
 * real device; each launch is a new app process (a new realm).
 */
export function createDevice({ serverUrl, writeKey = 'demo-key', startMs = Date.now() }) {
  const storage = createStorage();
  const clock = { offsetMs: startMs - Date.now() };
  let host = null;
  const runs = [];

  const device = {
    storage,
    clock,
    runs,
    get host() {
      return host;
    },
    get md() {
      return host.require('maidian');
    },
    /** The device's current time (ms). */
    now: () => Date.now() + clock.offsetMs,
    /** The user spends `ms` on the current screen (device time moves on). */
    spend(ms) {
      clock.offsetMs += ms;
    },
    /** Cold start: a new process loads app.js and the pages, then opens `path`. */
    launch({ path: route = 'pages/home/home', query = {}, scene = 1001 } = {}) {
      if (host && !host.killed) throw new Error('launch: the previous process still runs');
      host = createAppHost({ mounts: shopMounts(serverUrl, writeKey), storage, clock });
      runs.push(host);
      host.load('app.js');
      for (const r of shopPages) host.load(`${r}.js`, r);
      host.launch({ path: route, query, scene });
      host.open(route, query);
      return device;
    },
    /** The top page instance. */
    page() {
      const top = host.pages[host.pages.length - 1];
      if (!top) throw new Error('no page is open');
      return top.inst;
    },
    /** Nodes of the top page as rendered now. */
    nodes() {
      const p = device.page();
      return NODES[p.route](p.data);
    },
    find(id) {
      const n = device.nodes().find((x) => x.id === id);
      if (!n) throw new Error(`no node #${id} on ${device.page().route}`);
      return n;
    },
    /** Taps `#id` of the top page: its bindtap handler gets a tap event. */
    tap(id) {
      const n = device.find(id);
      if (!n.tap) throw new Error(`#${id} has no bindtap`);
      return host.tap(device.page(), n.tap, { id: n.id, dataset: { ...n.dataset } });
    },
    /** Every exposure-marked node of the top page scrolls into view (then stays for `ms`). */
    look(ms = 800, ratio = 1) {
      const p = device.page();
      const shown = device.nodes().filter((n) => n.expose);
      for (const n of shown) host.expose(p, { id: n.id, dataset: { ...n.dataset }, ratio });
      device.spend(ms);
      return shown;
    },
    /** The share button (or the menu) of the top page. */
    share(from = 'button') {
      const p = device.page();
      const target = from === 'button' ? { id: device.find('share').id, dataset: {} } : undefined;
      return host.share(p, 'onShareAppMessage', { from, target });
    },
    hide() {
      host.hideApp();
    },
    show(opts = { path: device.page().route, query: {}, scene: 1001 }) {
      host.showApp(opts);
    },
    /** The process is gone (e.g. killed right after hide); nothing of it runs any more. */
    kill() {
      host.kill();
      host.killed = true;
    },
    offline() {
      host.setNetwork('none');
    },
    online() {
      host.setNetwork('wifi');
    },
  };
  return device;
}
