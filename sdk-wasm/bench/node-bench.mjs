// Benchmark of the shipped wasm core under Node (the wasm-bindgen `nodejs` build), driven through
// the wrapper's own boundary: js-wrapper/src/core-adapter.mjs over the glue, as the client
// calls it (`core.track(...)`, then `core.pollEffects()`).
// Prints track() µs per call through the JS boundary, ms to encode a 100-event batch, and
// the shipped size of the mini-program build.
// Run: cargo xtask build-sdk && node sdk-wasm/bench/node-bench.mjs
// MAIDIAN_BENCH_NODE_DIST=<dir> benchmarks another `dist/node` build (e.g. a copy of the one
// before a change, to compare both in the same session on this noisy machine). If <dir> holds a
// `core-adapter.mjs`, that adapter is used (the one matching that build's bindings, e.g.
// `git show <rev>:js-wrapper/src/core-adapter.mjs > <dir>/core-adapter.mjs`), so both builds are
// measured through the same typed interface.
// MAIDIAN_BENCH_TRACKS=<n> runs only the track() part, n calls after 2000 warm-up calls. Times
// on this shared machine vary 2x between runs (the CPU time of the process, printed next to the
// wall time, less so when other jobs compete for the cores); instruction counts vary less: run
// it under callgrind with two n and divide the difference (docs/SDK.md, "Commands"):
//   valgrind --tool=callgrind --callgrind-out-file=/dev/null node sdk-wasm/bench/node-bench.mjs

import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { config, entropy, props } from './fixtures.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const nodeDist = path.resolve(
  process.env.MAIDIAN_BENCH_NODE_DIST || path.join(root, 'js-wrapper/dist/node'),
);
const ownAdapter = path.join(nodeDist, 'core-adapter.mjs');
const { coreFactory } = await import(
  pathToFileURL(
    existsSync(ownAdapter) ? ownAdapter : path.join(root, 'js-wrapper/src/core-adapter.mjs'),
  ).href
);
const createCore = coreFactory(require(path.join(nodeDist, 'maidian_sdk.js')));
const start = (cfg, now) => createCore(cfg, { now, entropy, stored: [] });

/** Takes the effects, as the client does after each input, answering every send with 200. */
function run(core, now) {
  for (const e of core.pollEffects()) {
    if (e.type === 'send') {
      core.sent(now, e.batchId, 200);
      run(core, now);
    }
  }
}

// track(): default batching, every send answered 200 at once.
{
  const core = start(config, 1.8e12);
  core.pollEffects();
  core.pageShow(1.8e12, { path: 'pages/detail/detail' });
  let now = 1.8e12;
  for (let i = 0; i < 2000; i++) {
    core.track(++now, 'view_item', props(i)); // warm-up
    run(core, now);
  }
  const n = Number(process.env.MAIDIAN_BENCH_TRACKS || 20000);
  const t = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    core.track(++now, 'view_item', props(i));
    run(core, now);
  }
  const us = Number(process.hrtime.bigint() - t) / 1e3 / n;
  const { user, system } = process.cpuUsage(cpu);
  console.log(
    `track(): ${us.toFixed(2)} µs per call, ${((user + system) / n).toFixed(2)} µs CPU ` +
      `(Node ${process.version}, wasm, incl. batching + gzip)`,
  );
}

if (process.env.MAIDIAN_BENCH_TRACKS) process.exit(0);

// 100-event batch encode: 100 queued events, time flush() (body + gzip + crossing to JS).
{
  let total = 0;
  let bytes = 0;
  const rounds = 50;
  for (let r = 0; r < rounds; r++) {
    const core = start({ ...config, flushAt: 1000, flushIntervalMs: 3600000 }, 1.8e12);
    for (let i = 0; i < 100; i++) core.track(1.8e12 + i, 'view_item', props(i));
    core.pollEffects();
    const t = process.hrtime.bigint();
    core.flush(1.8e12 + 200);
    const effects = core.pollEffects();
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
