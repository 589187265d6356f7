// The SDK configuration, entropy and event properties both Node benches use (node-bench.mjs,
// node-ab.mjs), so their figures are for the same work: a mini-program context as the wrapper
// builds it on a phone, and a three-property `view_item`.

export const config = {
  writeKey: 'wk_live_0123456789',
  endpoint: 'https://t.example.com',
  timezoneOffsetMin: 480,
  context: {
    app: { id: 'wx1234567890abcdef', version: '1.4.2', env: 'release' },
    miniProgram: { platform: 'wechat', baseLibraryVersion: '3.5.8', hostVersion: '8.0.53' },
    device: { brand: 'iPhone', model: 'iPhone 15<iPhone16,1>' },
    os: { name: 'iOS', version: '17.5.1' },
    screen: { width: 393, height: 852, density: 3 },
    network: { type: 'wifi' },
    locale: 'zh_CN',
    timezone: 'Asia/Shanghai',
  },
};
export const entropy = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 255);
export const props = (i) => ({ item_id: `sku-${i}`, price: 19.9, category: 'shoes' });
