/**
 * The host app keeps working when the SDK cannot load or fails: the shipped package with a
 * missing wasm file, on a host without a wasm engine, without a random source, and with a core
 * that throws (the JS double) — app lifecycles, handlers and return values are unchanged, the
 * SDK never throws into the app, and it says so once on the console.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { miniprogramDist } from './paths.mjs';
import { createAppHost } from './support/app-host.mjs';
import { fakeCoreBundle } from './support/bundle.mjs';

function recordingConsole() {
  const lines = { error: [], warn: [], log: [], debug: [] };
  const c = {};
  for (const k of Object.keys(lines)) c[k] = (...a) => lines[k].push(a.map(String).join(' '));
  return { console: c, lines };
}

const APP = `
globalThis.md = require('maidian');
md.init({ serverUrl: 'http://127.0.0.1:9', writeKey: 'k', WASM });
let shows = 0;
App({ onShow() { shows += 1; return 'shown'; } });
Page({ onBuyTap(e) { md.track('buy', { sku: e.currentTarget.dataset.sku }); return 'bought ' + e.currentTarget.dataset.sku; },
       onShareAppMessage() { return { title: 'x', path: '/pages/p/p' }; } });
globalThis.shows = () => shows;`;

/** Runs the app and exercises everything; returns the host for more checks. */
async function exercise(host) {
  host.run(APP.replace('WASM', host.wasmOption || 'debug: false'), 'pages/p/p');
  const md = host.require('maidian');
  assert.equal(host.app.onShow.call(host.app, {}), 'shown');
  host.launch();
  const page = host.open('pages/p/p');
  assert.equal(host.tap(page, 'onBuyTap', { dataset: { sku: 'S' } }), 'bought S');
  assert.deepEqual({ ...host.share(page) }, { title: 'x', path: '/pages/p/p' });
  // Every API call is harmless whatever the state.
  md.track('x', { a: 1 });
  md.identify('u', {});
  md.register({ a: 1 });
  md.consent.grant();
  md.consent.deny();
  md.flush();
  md.reset();
  md.rescanExposure(page);
  md.track(undefined, 42);
  md.track(
    'cyclic',
    (() => {
      const o = {};
      o.o = o;
      return o;
    })(),
  );
  host.back();
  host.hideApp();
  assert.equal(host.realm.run('shows()'), 2);
  return { md, page };
}

describe('the host app keeps working', () => {
  it('when the wasm file is missing: one console error, then no-op mode', async () => {
    const rec = recordingConsole();
    const host = createAppHost({
      mounts: { 'miniprogram_npm/maidian': miniprogramDist },
      console: rec.console,
    });
    host.wasmOption = `wasmPath: '/miniprogram_npm/maidian/missing.wasm.br'`;
    const { md } = await exercise(host);
    assert.equal(await md.ready(), false);
    assert.equal(md.status(), 'disabled');
    assert.equal(rec.lines.error.length, 1, rec.lines.error.join('\n'));
    assert.match(rec.lines.error[0], /could not be loaded.*no-op mode.*no such file/s);
    assert.deepEqual(host.realm.instantiateCalls, ['/miniprogram_npm/maidian/missing.wasm.br']);
    assert.equal(host.requests.length, 0);
    assert.equal([...host.storage.map.keys()].length, 0, 'nothing stored');
  });

  it('on a host without a wasm engine', async () => {
    const rec = recordingConsole();
    const host = createAppHost({
      mounts: { 'miniprogram_npm/maidian': miniprogramDist },
      engine: 'NoWebAssemblyHere',
      console: rec.console,
    });
    const { md } = await exercise(host);
    assert.equal(await md.ready(), false);
    assert.match(rec.lines.error[0], /no path-only wasm engine on this host \(wechat\)/);
  });

  it('without a cryptographic random source (never Math.random)', async () => {
    const rec = recordingConsole();
    const host = createAppHost({
      mounts: { 'miniprogram_npm/maidian': miniprogramDist },
      wxOverrides: { getRandomValues: undefined },
      console: rec.console,
    });
    const { md } = await exercise(host);
    assert.equal(await md.ready(), false);
    assert.match(rec.lines.error[0], /no cryptographic random source/);
  });

  it('when the core throws: the app is unaffected and the SDK goes on with other inputs', async () => {
    const rec = recordingConsole();
    const host = createAppHost({
      mounts: { 'miniprogram_npm/maidian': fakeCoreBundle() },
      request: (_o, cb) => setTimeout(() => cb.success({ statusCode: 200, header: {} }), 0),
      console: rec.console,
    });
    const md = host.require('maidian');
    md.fake.throwOn = 'tap';
    try {
      await exercise(host);
      assert.equal(await md.ready(), true);
      assert.ok(rec.lines.error.some((l) => /internal error in the SDK core.*tap failed/.test(l)));
      const core = md.fake.instances.at(-1);
      assert.ok(
        core.calls.some(([n]) => n === 'pageHide'),
        'later inputs still reach the core',
      );
      assert.equal(md.status(), 'ready');
    } finally {
      md.fake.throwOn = null;
    }
  });

  it('when the core traps (a wasm RuntimeError): disabled, app unaffected', async () => {
    const rec = recordingConsole();
    const host = createAppHost({
      mounts: { 'miniprogram_npm/maidian': fakeCoreBundle() },
      request: (_o, cb) => setTimeout(() => cb.success({ statusCode: 200, header: {} }), 0),
      console: rec.console,
    });
    const md = host.require('maidian');
    host.run(`App({}); Page({ onGo(e) { return 'went'; } });`, 'pages/t/t');
    host.run(`require('maidian').init({ serverUrl: 'http://127.0.0.1:9', writeKey: 'k' });`);
    assert.equal(await md.ready(), true);
    const core = md.fake.instances.at(-1);
    core.track = () => {
      const e = new Error('unreachable executed');
      e.name = 'RuntimeError';
      throw e;
    };
    md.track('boom');
    assert.equal(md.status(), 'disabled');
    host.launch();
    const page = host.open('pages/t/t');
    assert.equal(host.tap(page, 'onGo'), 'went');
    assert.equal(rec.lines.error.filter((l) => /crashed/.test(l)).length, 1);
  });
});
