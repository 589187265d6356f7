// Benchmark of the shipped wasm core under Node (the wasm-bindgen `nodejs` build).
// Prints track() µs per call through the JS boundary, ms to encode a 100-event batch, and
// the shipped size of the mini-program build.
// Run: cargo xtask build-sdk && node sdk-wasm/bench/node-bench.mjs
// MAIDIAN_BENCH_NODE_DIST=<dir> benchmarks another `dist/node` build (e.g. a copy of the one
// before a change, to compare both in the same session on this noisy machine).
// MAIDIAN_BENCH_TRACKS=<n> runs only the track() part, n calls after 2000 warm-up calls. Times
// on this shared machine vary 2x between runs; instruction counts do not: run it under
// callgrind with two n and divide the difference (docs/SDK.md, "Commands"):
//   valgrind --tool=callgrind --callgrind-out-file=/dev/null node sdk-wasm/bench/node-bench.mjs

import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const nodeDist = process.env.MAIDIAN_BENCH_NODE_DIST || path.join(root, 'js-wrapper/dist/node');
const { Maidian } = require(path.resolve(nodeDist, 'maidian_sdk.js'));

const config = {
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
const entropy = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 255);
const props = (i) => ({ item_id: `sku-${i}`, price: 19.9, category: 'shoes' });

function run(m, effects, now) {
  for (const e of effects) if (e.type === 'send') run(m, m.sent(now, e.batchId, 200), now);
}

// track(): default batching, every send answered 200 at once.
{
  const m = new Maidian(config, 1.8e12, entropy, {});
  m.takeEffects();
  m.pageShow(1.8e12, { path: 'pages/detail/detail' });
  let now = 1.8e12;
  for (let i = 0; i < 2000; i++) run(m, m.track(++now, 'view_item', props(i)), now); // warm-up
  const n = Number(process.env.MAIDIAN_BENCH_TRACKS || 20000);
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) run(m, m.track(++now, 'view_item', props(i)), now);
  const us = Number(process.hrtime.bigint() - t) / 1e3 / n;
  console.log(`track(): ${us.toFixed(2)} µs per call (Node ${process.version}, wasm, incl. batching + gzip)`);
}

if (process.env.MAIDIAN_BENCH_TRACKS) process.exit(0);

// 100-event batch encode: 100 queued events, time flush() (body + gzip + crossing to JS).
{
  let total = 0;
  let bytes = 0;
  const rounds = 50;
  for (let r = 0; r < rounds; r++) {
    const m = new Maidian({ ...config, flushAt: 1000, flushIntervalMs: 3600000 }, 1.8e12, entropy, {});
    m.takeEffects();
    for (let i = 0; i < 100; i++) m.track(1.8e12 + i, 'view_item', props(i));
    const t = process.hrtime.bigint();
    const effects = m.flush(1.8e12 + 200);
    total += Number(process.hrtime.bigint() - t) / 1e6;
    for (const e of effects) if (e.type === 'send') bytes = e.body.length;
  }
  console.log(`encode a 100-event batch: ${(total / rounds).toFixed(3)} ms (${bytes} bytes gzip)`);
}

// Shipped mini-program build.
{
  const dir = path.join(root, 'js-wrapper/miniprogram_dist');
  let total = 0;
  const files = [];
  for (const f of readdirSync(dir)) {
    const s = statSync(path.join(dir, f));
    if (s.isFile() && !f.endsWith('.wasm') && !f.endsWith('.d.ts') && !f.endsWith('.map')) {
      total += s.size;
      files.push(`${f} ${s.size}`);
    }
  }
  console.log(`shipped miniprogram_dist: ${total} bytes (${files.join(', ')})`);
}
