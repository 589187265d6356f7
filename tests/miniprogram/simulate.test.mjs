/**
 * The SHIPPED mini-program package with the official `miniprogram-simulate` + `j-component`: a
 * real custom component (fixtures/buy-list) with `bindtap`, `bindlongpress` and an
 * exposure-marked list, rendered in jsdom. jsdom has no layout, so element and viewport
 * rectangles are stubbed; j-component's own IntersectionObserver computes the ratios from them.
 * What the SDK recorded is read back from the request bodies it sent (gzip JSON batches).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import zlib from 'node:zlib';
import { miniprogramDist, packageDir, repoRoot, requireBuilt } from '../realm/paths.mjs';
import { waitFor } from '../realm/support/app-host.mjs';

const require = createRequire(path.join(packageDir, 'package.json'));
const { JSDOM } = require('jsdom');
const fixture = path.join(repoRoot, 'tests/miniprogram/fixtures/buy-list/index');
const bundle = requireBuilt(path.join(miniprogramDist, 'index.js'));
const hasCore = fs.readFileSync(bundle, 'utf8').includes('Maidian');

const GLOBALS = [
  'window',
  'document',
  'Event',
  'CustomEvent',
  'Node',
  'HTMLElement',
  'Element',
  'requestAnimationFrame',
  'cancelAnimationFrame',
  'wx',
  'WXWebAssembly',
  'Component',
  'Behavior',
  'setTimeout',
];

describe('miniprogram-simulate: a real Component with the shipped SDK', {
  skip: hasCore ? false : 'the built wasm has no SDK core',
}, () => {
  const saved = {};
  const storage = new Map();
  /** Every request body, decoded. */
  const sent = [];
  /** Rectangles by data-md-key; the viewport is 375 x 667. */
  const rects = new Map();
  let dom;
  let simulate;
  let md;

  before(() => {
    for (const k of GLOBALS) saved[k] = Object.getOwnPropertyDescriptor(globalThis, k);
    dom = new JSDOM('<!doctype html><html><body></body></html>', { pretendToBeVisual: true });
    const w = dom.window;
    for (const k of [
      'window',
      'document',
      'Event',
      'CustomEvent',
      'Node',
      'HTMLElement',
      'Element',
    ]) {
      Object.defineProperty(globalThis, k, {
        value: k === 'window' ? w : w[k],
        configurable: true,
        writable: true,
      });
    }
    globalThis.requestAnimationFrame = w.requestAnimationFrame.bind(w);
    globalThis.cancelAnimationFrame = w.cancelAnimationFrame.bind(w);
    Object.defineProperty(w.document.documentElement, 'clientWidth', { value: 375 });
    Object.defineProperty(w.document.documentElement, 'clientHeight', { value: 667 });
    w.Element.prototype.getBoundingClientRect = function () {
      // j-component does not write ids to the DOM; the list items carry data-md-key.
      const r = rects.get(this.getAttribute('data-md-key')) || {
        top: 0,
        left: 0,
        width: 0,
        height: 0,
      };
      return { ...r, right: r.left + r.width, bottom: r.top + r.height, x: r.left, y: r.top };
    };
    rects.set('item-A', { top: 100, left: 0, width: 375, height: 80 });
    rects.set('item-B', { top: 600, left: 0, width: 375, height: 80 }); // 67 of 80 px visible
    rects.set('item-C', { top: 900, left: 0, width: 375, height: 80 }); // below the fold
    // The host API the SDK needs; miniprogram-simulate merges its own stubs under it.
    globalThis.wx = {
      setStorageSync: (k, v) => storage.set(k, v),
      getStorageSync: (k) => storage.get(k) ?? '',
      removeStorageSync: (k) => storage.delete(k),
      getStorageInfoSync: () => ({ keys: [...storage.keys()] }),
      getRandomValues: ({ length, success }) =>
        success({
          randomValues: new Uint8Array(require('node:crypto').randomBytes(length)).buffer,
        }),
      request: ({ data, success }) => {
        sent.push(JSON.parse(zlib.gunzipSync(Buffer.from(data)).toString()));
        setTimeout(() => success({ statusCode: 200, header: {}, data: '{}' }), 0);
      },
    };
    globalThis.WXWebAssembly = {
      instantiate(p, imports) {
        const file = path.join(miniprogramDist, p.replace(/^\/?miniprogram_npm\/maidian\//, ''));
        return WebAssembly.instantiate(zlib.brotliDecompressSync(fs.readFileSync(file)), imports);
      },
    };
    // The core's last wake-up (the 60 s request timeout of a batch long acknowledged) stays
    // armed; harmless in an app, but it must not keep this test process alive.
    const realSetTimeout = globalThis.setTimeout;
    globalThis.setTimeout = (fn, ms, ...args) => {
      const t = realSetTimeout(fn, ms, ...args);
      if (ms >= 1000) t.unref?.();
      return t;
    };
    simulate = require('miniprogram-simulate');
    // The app requires the SDK before its components are defined: it wraps simulate's Component.
    md = require(bundle);
    md.init({
      serverUrl: 'http://127.0.0.1:9',
      writeKey: 'demo-key',
      // Send every 20 ms so no timer outlives the test.
      batch: { size: 1000, intervalMs: 20 },
      exposure: { dwellMs: 30 },
    });
  });

  after(() => {
    for (const k of GLOBALS) {
      if (saved[k]) Object.defineProperty(globalThis, k, saved[k]);
      else delete globalThis[k];
    }
    dom?.window.close();
  });

  const events = () => sent.flatMap((body) => body.batch);

  it('taps and long presses through bindtap/bindlongpress, exposure from the list', async () => {
    // The component lives on a page (no Page() in simulate: report it explicitly).
    md.lifecycle.pageShow({ route: 'pages/list/list', options: { category: 'tea' } });
    const id = simulate.load(fixture, { compiler: 'simulate' });
    const comp = simulate.render(id);
    comp.attach(document.createElement('parent-wrapper'));
    assert.equal(await md.ready(), true);
    assert.equal(comp.instance.readyRan, true, "the component's own ready() ran");

    comp.querySelector('#buy').dispatchEvent('tap');
    await simulate.sleep(0);
    assert.equal(comp.instance.data.bought, 'TEA-1', 'the handler ran with its this and event');
    comp.querySelector('#hold').dispatchEvent('longpress');
    await simulate.sleep(0);
    assert.equal(comp.instance.data.bought, 'held');

    // A and B are visible (ratio >= 0.5) from the first frame; C after "scrolling".
    await waitFor(
      () => events().filter((e) => e.event === '$exposure').length >= 2,
      'two exposures',
    );
    rects.set('item-C', { top: 300, left: 0, width: 375, height: 80 });
    comp.dom.dispatchEvent(new window.Event('scroll'));
    await waitFor(
      () => events().filter((e) => e.event === '$exposure').length >= 3,
      'the third exposure',
    );

    const clicks = events().filter((e) => e.event === '$click');
    assert.deepEqual(
      clicks.map((e) => [
        e.properties.element_type,
        e.properties.element_id,
        e.properties.handler,
        e.properties.mdPos,
      ]),
      [
        ['tap', 'buy', 'onBuy', 2],
        ['longpress', 'hold', 'onHold', 3],
      ],
    );
    const exposures = events().filter((e) => e.event === '$exposure');
    assert.deepEqual(exposures.map((e) => e.properties.element_key).sort(), [
      'item-A',
      'item-B',
      'item-C',
    ]);
    assert.equal(
      exposures.find((e) => e.properties.element_key === 'item-A').properties.mdSku,
      'A',
    );
    const b = exposures.find((e) => e.properties.element_key === 'item-B');
    assert.ok(Math.abs(b.properties.ratio - 67 / 80) < 0.01, `ratio ${b.properties.ratio}`);

    comp.detach();
  });
});
