/**
 * The pure parts of the mini-program host adapter (../src/miniprogram/host.mjs): the static
 * context from the host's info APIs (new split APIs, the legacy `getSystemInfoSync`, missing
 * ones), `Retry-After` parsing and the request body buffer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collectContext, retryAfterSeconds, toArrayBuffer } from '../src/miniprogram/host.mjs';

/** `collectContext` over an API object whose info methods return `infos[name]`. */
function contextOf(infos, name = 'wechat') {
  const api = {};
  for (const [method, value] of Object.entries(infos)) {
    api[method] = () => {
      if (value instanceof Error) throw value;
      return value;
    };
  }
  // JSON, as the core receives it: `undefined` fields are absent.
  return JSON.parse(JSON.stringify(collectContext({ name, api }).context));
}

describe('collectContext', () => {
  it('merges the split info APIs; the device wins over window and app base', () => {
    const ctx = contextOf({
      getDeviceInfo: { brand: 'Apple', model: 'iPhone 15', system: 'iOS 17.4.1', platform: 'ios' },
      getWindowInfo: { screenWidth: 390.4, screenHeight: 844, pixelRatio: 3, model: 'other' },
      getAppBaseInfo: { SDKVersion: '3.6.4', version: '8.0.50', language: 'zh_CN' },
      getSystemInfoSync: { brand: 'legacy', model: 'legacy' },
      getAccountInfoSync: {
        miniProgram: { appId: 'wx1', version: '1.2.0', envVersion: 'release' },
      },
    });
    delete ctx.timezone;
    assert.deepEqual(ctx, {
      miniProgram: { platform: 'wechat', baseLibraryVersion: '3.6.4', hostVersion: '8.0.50' },
      app: { id: 'wx1', version: '1.2.0', env: 'release' },
      device: { brand: 'Apple', model: 'iPhone 15' },
      os: { name: 'iOS', version: '17.4.1' },
      screen: { width: 390, height: 844, density: 3 },
      locale: 'zh_CN',
    });
  });

  it('falls back to getSystemInfoSync on older hosts, and to `platform` for the OS', () => {
    const ctx = contextOf(
      {
        getSystemInfoSync: {
          brand: 'HUAWEI',
          model: 'P40',
          system: '',
          platform: 'android',
          screenWidth: 360,
          screenHeight: 780,
          SDKVersion: '2.10.0',
          version: '7.0.0',
        },
      },
      'bytedance',
    );
    delete ctx.timezone;
    assert.deepEqual(ctx, {
      miniProgram: { platform: 'bytedance', baseLibraryVersion: '2.10.0', hostVersion: '7.0.0' },
      device: { brand: 'HUAWEI', model: 'P40' },
      os: { name: 'android' },
      screen: { width: 360, height: 780 },
    });
  });

  it('reports only what the host has: nothing invented, a throwing API is skipped', () => {
    const ctx = contextOf({ getDeviceInfo: new Error('no permission'), getAccountInfoSync: {} });
    assert.equal(ctx.timezone, String(-new Date().getTimezoneOffset()));
    delete ctx.timezone;
    assert.deepEqual(ctx, { miniProgram: { platform: 'wechat' } });
    assert.deepEqual(JSON.parse(JSON.stringify(collectContext({ name: 'unknown' }).context)), {
      miniProgram: { platform: 'unknown' },
      timezone: String(-new Date().getTimezoneOffset()),
    });
  });
});

describe('retryAfterSeconds', () => {
  it('reads seconds or an HTTP date, in any header case', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(retryAfterSeconds({ 'Retry-After': ' 120 ' }, now), 120);
    assert.equal(retryAfterSeconds({ 'retry-after': '1.5' }, now), 1.5);
    assert.equal(retryAfterSeconds({ 'RETRY-AFTER': 'Thu, 01 Jan 2026 00:00:30 GMT' }, now), 30);
    assert.equal(retryAfterSeconds({ 'Retry-After': 'Wed, 31 Dec 2025 00:00:00 GMT' }, now), 0);
    assert.equal(retryAfterSeconds({ 'Retry-After': 'soon' }, now), undefined);
    assert.equal(retryAfterSeconds({ Other: '5' }, now), undefined);
    assert.equal(retryAfterSeconds(undefined, now), undefined);
  });
});

describe('toArrayBuffer', () => {
  it('is the exact bytes of a view, without a copy when the view is the whole buffer', () => {
    const whole = Uint8Array.of(1, 2, 3);
    assert.equal(toArrayBuffer(whole), whole.buffer);
    const part = Uint8Array.of(0, 1, 2, 3, 4).subarray(1, 4);
    assert.deepEqual(new Uint8Array(toArrayBuffer(part)), Uint8Array.of(1, 2, 3));
  });
});
