/**
 * The browser host in a real browser: headless Chromium (Debian `chromium`, driven by
 * playwright-core) runs examples/web-shop — served over loopback by its own serve.mjs — against
 * the real collector (another loopback origin, so CORS and preflights are real too). The
 * assertions read the collector's files.
 *
 * 1. A shopper: lands (with UTM), agrees, sees the recommendations, opens a category (SPA
 *    page view), scrolls the list (exposures), opens a product, adds two to the cart, pays
 *    (replaceState), goes back (popstate), closes the tab: the last batch leaves as a beacon
 *    (`?key=` and `?compression=gzip`). Exactly the expected events arrive, each once.
 * 2. Offline then online: with the collector unreachable (connections reset) the queue in
 *    localStorage stays within `maxQueueEvents`; once reachable, what was kept arrives once and
 *    the drop is reported by `$sdk_diagnostic`; storage is empty afterwards.
 * 3. A 429 with `Retry-After` (read through CORS by the host, fed to the core with the status):
 *    the next attempt waits for it, then the events arrive once.
 *
 * Skips when no Chromium is installed, except under CI (`CI` set), where it fails.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { serveShop } from '../../examples/web-shop/serve.mjs';
import { packageDir, requireBuilt, webDist } from '../realm/paths.mjs';
import { waitFor } from '../realm/support/app-host.mjs';
import { collectorUnavailable, startCollector } from '../realm/support/collector.mjs';

const require = createRequire(path.join(packageDir, 'package.json'));
const CHROMIUM = process.env.MAIDIAN_CHROMIUM || '/usr/bin/chromium';
const missing = fs.existsSync(CHROMIUM)
  ? null
  : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set MAIDIAN_CHROMIUM)`;
if (missing && process.env.CI) throw new Error(missing);
const skip = missing || collectorUnavailable() || false;

/** The SDK module of the page (the same instance the shop imported). */
const SDK = '/sdk/index.js';

/** `{name: count}` of stored events (`page` messages as `page <path>`). */
function counts(events) {
  const out = {};
  for (const e of events) {
    const k = e.type === 'page' ? `page ${e.name}` : e.event || e.type;
    out[k] = (out[k] || 0) + 1;
  }
  return out;
}

function byName(events, name) {
  return events.filter((e) => e.event === name);
}

/** Events the core has queued so far (counter; includes delivered ones). */
async function queued(page) {
  return page.evaluate(async (sdk) => {
    const md = (await import(sdk)).default;
    return md.inspect()?.stats.eventsQueued ?? -1;
  }, SDK);
}

/** Waits until the core has queued `n` events in total (an exposure's dwell ended, ...). */
async function untilQueued(page, n, what) {
  await waitFor(async () => (await queued(page)) >= n, `${what} (${n} events queued)`, 10000);
}

/**
 * A loopback proxy in front of the collector that records every request (method, URL, headers)
 * — the page's own requests are invisible to the test once the page is closed, a beacon's
 * included — and can play an unreachable collector (`state.offline`: connections are reset).
 * (Playwright's `route.abort` was tried for the offline period: a request started while the
 * route was active is held by the interception for about 10 s after `unroute`.)
 */
function recordingProxy(target) {
  const seen = [];
  const state = { offline: false, refused: 0, busy: null };
  const server = http.createServer((req, res) => {
    if (state.busy && req.method === 'POST') {
      // One 429 with Retry-After, answered as the collector would (CORS, exposed header).
      const retryAfter = state.busy;
      state.busy = null;
      seen.push({
        method: req.method,
        url: req.url,
        headers: req.headers,
        status: 429,
        at: Date.now(),
      });
      req.resume();
      res.writeHead(429, {
        'access-control-allow-origin': '*',
        'access-control-expose-headers': 'retry-after',
        'retry-after': String(retryAfter),
      });
      res.end('{"error":"rate_limited"}');
      return;
    }
    if (state.offline) {
      // The collector is unreachable: the connection is reset, the browser sees a network error.
      state.refused += 1;
      req.socket.destroy();
      return;
    }
    seen.push({ method: req.method, url: req.url, headers: req.headers, at: Date.now() });
    const up = http.request(
      new URL(req.url, target),
      { method: req.method, headers: { ...req.headers, host: new URL(target).host } },
      (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        seen,
        state,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      }),
    );
  });
}

describe('web shop in headless Chromium', { skip }, () => {
  let collector;
  let browser;
  const servers = [];

  before(async () => {
    requireBuilt(path.join(webDist, 'index.js'));
    const { chromium } = require('playwright-core');
    collector = await startCollector();
    browser = await chromium.launch({ executablePath: CHROMIUM });
  });

  after(async () => {
    await browser?.close();
    for (const s of servers) await s.close();
    await collector?.stop();
  });

  async function shop(options, via = collector.url) {
    const s = await serveShop({ collector: via, options });
    servers.push(s);
    return s;
  }

  it('tracks a shopping session and delivers the last batch as a beacon on close', async () => {
    const proxy = await recordingProxy(collector.url);
    servers.push(proxy);
    // No size or interval flush during the session (even on a slow machine): what is sent is
    // sent because the page is closed.
    const s = await shop({ batch: { intervalMs: 600000 } }, proxy.url);
    const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text());
    });

    await page.goto(`${s.url}/?utm_source=newsletter&utm_campaign=spring`);
    assert.equal(
      await page.evaluate(async (sdk) => (await import(sdk)).default.ready(), SDK),
      true,
    );
    const before = await queued(page);
    await page.click('#consent-accept');
    // launch, show, page /, the consent click (held while pending), then 4 exposures.
    await untilQueued(page, before + 4 + 4, 'the home recommendations to be exposed');

    let n = await queued(page);
    await page.click('#cat-tea');
    // $click, $page_leave, page /list, the first row's exposure (the only one in view).
    await untilQueued(page, n + 4, 'the first list row to be exposed');
    n = await queued(page);
    await page.evaluate(() =>
      document.getElementById('item-tea-002').scrollIntoView({ block: 'center' }),
    );
    await untilQueued(page, n + 1, 'the second row to be exposed');
    await page.evaluate(() =>
      document.getElementById('item-tea-003').scrollIntoView({ block: 'center' }),
    );
    await untilQueued(page, n + 2, 'the third row to be exposed');

    await page.click('#item-tea-002');
    await page.waitForSelector('#add-to-cart');
    await page.click('#qty-plus');
    await page.click('#add-to-cart');
    await page.click('#go-cart');
    await page.waitForSelector('#pay');
    await page.click('#pay');
    await page.waitForSelector('#order-id');
    const orderId = await page.textContent('#order-id');
    await page.goBack();
    await page.waitForSelector('#add-to-cart');

    assert.deepEqual(proxy.seen, [], 'nothing is sent before the page is hidden');
    await page.close({ runBeforeUnload: true });

    const expected = {
      $app_launch: 1,
      $app_show: 1,
      'page /': 1,
      'page /list': 1,
      'page /detail': 2,
      'page /cart': 1,
      'page /pay-success': 1,
      $page_leave: 6,
      $click: 7,
      $exposure: 7,
      add_to_cart: 1,
      begin_checkout: 1,
      pay_success: 1,
      $app_hide: 1,
    };
    const total = Object.values(expected).reduce((a, b) => a + b, 0);
    await waitFor(() => collector.events().length >= total, `${total} stored events`, 15000);
    const events = collector.events();
    assert.deepEqual(counts(events), expected);
    assert.equal(new Set(events.map((e) => e.messageId)).size, events.length, 'no duplicates');
    assert.equal(new Set(events.map((e) => e.anonymousId)).size, 1);
    assert.ok(events.every((e) => e.context?.library?.name === 'maidian-web'));

    const launch = byName(events, '$app_launch')[0];
    assert.equal(launch.context.campaign?.source, 'newsletter');
    assert.equal(launch.context.campaign?.name, 'spring');

    const clicks = byName(events, '$click').map((e) => e.properties);
    assert.deepEqual(
      clicks.map((p) => p.element_id),
      ['consent-accept', 'cat-tea', 'item-tea-002', 'qty-plus', 'add-to-cart', 'go-cart', 'pay'],
    );
    assert.ok(clicks.every((p) => p.element_type === 'click'));
    const row = clicks[2];
    assert.equal(row.mdSku, 'tea-002');
    assert.equal(row.mdPosition, '1');
    assert.equal(clicks[1].mdCategory, 'tea');

    const exposed = byName(events, '$exposure').map((e) => e.properties.element_key);
    assert.deepEqual(exposed.slice().sort(), [
      'home-rec-cup-001',
      'home-rec-tea-001',
      'home-rec-tea-002',
      'home-rec-tea-003',
      'list-tea-tea-001',
      'list-tea-tea-002',
      'list-tea-tea-003',
    ]);
    for (const e of byName(events, '$exposure')) {
      assert.ok(e.properties.ratio >= 0.5 && e.properties.dwell_ms >= 500, JSON.stringify(e));
      assert.ok(e.properties.mdSku, 'the data-md-* dataset is kept');
    }

    const add = byName(events, 'add_to_cart')[0].properties;
    assert.deepEqual(add, {
      sku: 'tea-002',
      category: 'tea',
      price: 96,
      quantity: 2,
      from: 'list',
    });
    const paid = byName(events, 'pay_success')[0].properties;
    assert.deepEqual(paid, { order_id: orderId, amount: 192, item_count: 1, skus: ['tea-002'] });
    const pageViews = events.filter((e) => e.type === 'page');
    assert.equal(pageViews.find((e) => e.name === '/list').context.page.query, 'category=tea');

    // Everything went in the one request made while the page was being closed: a beacon
    // (no preflight, no custom headers: the key and the encoding are in the query).
    assert.equal(proxy.seen.length, 1, JSON.stringify(proxy.seen));
    const [beacon] = proxy.seen;
    assert.equal(beacon.method, 'POST');
    assert.match(beacon.url, /^\/v1\/batch\?/);
    assert.match(beacon.url, /[?&]key=demo-key(&|$)/);
    assert.match(beacon.url, /[?&]compression=gzip(&|$)/);
    assert.match(beacon.url, new RegExp(`[?&]device=${events[0].anonymousId}(&|$)`));
    assert.equal(beacon.headers['x-write-key'], undefined);
    assert.equal(beacon.headers['content-encoding'], undefined);
    assert.deepEqual(errors, []);
    await context.close();
  });
  it('keeps a bounded queue in localStorage while offline and delivers it once when back', async () => {
    const proxy = await recordingProxy(collector.url);
    servers.push(proxy);
    const maxQueueEvents = 30;
    const s = await shop(
      {
        batch: { size: 5, intervalMs: 300 },
        core: { maxQueueEvents, retryBaseMs: 200, retryMaxMs: 1000 },
      },
      proxy.url,
    );
    const context = await browser.newContext();
    proxy.state.offline = true;
    const page = await context.newPage();
    await page.goto(`${s.url}/cart`);
    await page.evaluate(async (sdk) => (await import(sdk)).default.ready(), SDK);
    await page.evaluate(async (sdk) => {
      const md = (await import(sdk)).default;
      localStorage.setItem('shop:consent-asked', '1');
      md.consent.grant();
      // One call per event: each is its own stored chunk, so the bound drops whole events.
      for (let i = 0; i < 60; i += 1) md.track('offline_tick', { i });
    }, SDK);
    await waitFor(() => proxy.state.refused >= 2, 'two failed attempts', 10000);

    const stored = await page.evaluate(() => {
      const out = { keys: 0, lines: 0, bytes: 0 };
      for (let i = 0; i < localStorage.length; i += 1) {
        const k = localStorage.key(i);
        if (!/^md_q/.test(k)) continue;
        const v = localStorage.getItem(k);
        out.keys += 1;
        out.bytes += v.length;
        out.lines += v.split('\n').filter((l) => l.trim()).length;
      }
      return out;
    });
    assert.ok(stored.lines > 0 && stored.lines <= maxQueueEvents, JSON.stringify(stored));
    assert.equal(proxy.seen.length, 0, 'nothing reached the collector while offline');
    const { anonymousId, stats } = await page.evaluate(
      async (sdk) => (await import(sdk)).default.inspect(),
      SDK,
    );
    assert.ok(stats.queueLen <= maxQueueEvents, JSON.stringify(stats));

    proxy.state.offline = false;
    const mine = () => collector.events().filter((e) => e.anonymousId === anonymousId);
    await waitFor(
      async () =>
        mine().some((e) => e.event === '$sdk_diagnostic') &&
        (await page.evaluate(() => Object.keys(localStorage).every((k) => !/^md_q/.test(k)))),
      'the stored queue and the drop report to be delivered, and storage emptied',
      15000,
    );
    const events = mine();
    assert.equal(new Set(events.map((e) => e.messageId)).size, events.length, 'no duplicates');
    const diag = events.filter((e) => e.event === '$sdk_diagnostic');
    assert.equal(diag.length, 1);
    // Every event recorded offline either arrived once or is counted as dropped by the bound.
    const delivered = events.length - 1;
    assert.equal(delivered + diag[0].properties.queue_overflow, stats.eventsQueued);
    assert.ok(diag[0].properties.queue_overflow >= 60 - maxQueueEvents);
    // The newest always survive the bound.
    const ticks = new Set(
      events.filter((e) => e.event === 'offline_tick').map((e) => e.properties.i),
    );
    for (let i = 60 - maxQueueEvents + 5; i < 60; i += 1) assert.ok(ticks.has(i), `tick ${i}`);
    await context.close();
  });
  it('honours a 429 Retry-After read from the fetch response', async () => {
    const proxy = await recordingProxy(collector.url);
    servers.push(proxy);
    // The backoff alone would retry within 300 ms; Retry-After asks for 2 s.
    const s = await shop(
      { batch: { size: 3 }, core: { retryBaseMs: 100, retryMaxMs: 300 } },
      proxy.url,
    );
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${s.url}/cart`);
    await page.evaluate(async (sdk) => (await import(sdk)).default.ready(), SDK);
    proxy.state.busy = 2;
    const anonymousId = await page.evaluate(async (sdk) => {
      const md = (await import(sdk)).default;
      localStorage.setItem('shop:consent-asked', '1');
      md.consent.grant();
      for (let i = 0; i < 3; i += 1) md.track('busy_tick', { i });
      return md.inspect().anonymousId;
    }, SDK);
    const mine = () => collector.events().filter((e) => e.anonymousId === anonymousId);
    await waitFor(
      () => mine().filter((e) => e.event === 'busy_tick').length === 3,
      'the events after the Retry-After',
      15000,
    );
    const posts = proxy.seen.filter((r) => r.method === 'POST');
    assert.equal(posts[0].status, 429);
    assert.ok(posts.length >= 2, JSON.stringify(posts.map((p) => p.status)));
    const waited = posts[1].at - posts[0].at;
    assert.ok(waited >= 2000, `the retry came ${waited} ms after the 429`);
    const events = mine();
    assert.equal(new Set(events.map((e) => e.messageId)).size, events.length, 'no duplicates');
    await context.close();
  });
});
