// A/B of two Node builds in ONE process: `track()` through each build's own core adapter,
// alternating blocks of calls between A and B so that the load of this shared machine hits both
// alike (separate runs of node-bench.mjs differ by 2x here). Prints µs per track() (wall and
// thread CPU time summed per side over all blocks) and B/A.
//
//   node sdk-wasm/bench/node-ab.mjs <dist A> <dist B> [blocks] [calls per block]
//
// Each dist is a `dist/node` directory (maidian_sdk.js + wasm); the adapter is the
// `core-adapter.mjs` inside it if there is one (a build with other bindings, e.g.
// `git show <rev>:js-wrapper/src/core-adapter.mjs > <dir>/core-adapter.mjs`), else
// js-wrapper/src/core-adapter.mjs. Default: 40 blocks of 1000 calls per side, after 3000
// warm-up calls each; every `send` is answered 200 at once, as in node-bench.mjs.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { config, entropy, props } from './fixtures.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const [distA, distB] = process.argv.slice(2, 4).map((d) => path.resolve(d));
if (!distA || !distB) {
  console.error('usage: node sdk-wasm/bench/node-ab.mjs <dist A> <dist B> [blocks] [calls]');
  process.exit(2);
}
const blocks = Number(process.argv[4] || 40);
const perBlock = Number(process.argv[5] || 1000);

/** One side: its core and a clock, and `run(n)` doing n tracks (with the client's polling). */
async function side(dist) {
  const own = path.join(dist, 'core-adapter.mjs');
  const adapter = existsSync(own) ? own : path.join(root, 'js-wrapper/src/core-adapter.mjs');
  const { coreFactory } = await import(pathToFileURL(adapter).href);
  const core = coreFactory(require(path.join(dist, 'maidian_sdk.js')))(config, {
    now: 1.8e12,
    entropy,
    stored: [],
  });
  core.pollEffects();
  core.pageShow(1.8e12, { path: 'pages/detail/detail' });
  let now = 1.8e12;
  const drain = () => {
    for (const e of core.pollEffects()) {
      if (e.type === 'send') {
        core.sent(now, e.batchId, 200);
        drain();
      }
    }
  };
  return {
    run(n) {
      for (let i = 0; i < n; i++) {
        core.track(++now, 'view_item', props(i));
        drain();
      }
    },
    wall: 0,
    cpu: 0,
  };
}

const a = await side(distA);
const b = await side(distB);
a.run(3000);
b.run(3000);
const cpuNow = () => {
  const { user, system } = process.threadCpuUsage ? process.threadCpuUsage() : process.cpuUsage();
  return user + system;
};
for (let k = 0; k < blocks; k++) {
  // Alternate which side goes first, so neither always follows the other's garbage.
  for (const s of k % 2 ? [b, a] : [a, b]) {
    const t = process.hrtime.bigint();
    const c = cpuNow();
    s.run(perBlock);
    s.cpu += cpuNow() - c;
    s.wall += Number(process.hrtime.bigint() - t) / 1e3;
  }
}
const n = blocks * perBlock;
const fmt = (s) => `${(s.wall / n).toFixed(2)} µs wall, ${(s.cpu / n).toFixed(2)} µs CPU`;
console.log(`A ${distA}: ${fmt(a)}`);
console.log(`B ${distB}: ${fmt(b)}`);
console.log(`B/A: ${(b.wall / a.wall).toFixed(3)} wall, ${(b.cpu / a.cpu).toFixed(3)} CPU`);
