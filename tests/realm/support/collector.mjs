/**
 * Starts the real collector (`maidian-collector`) on a free loopback port with a temporary data
 * directory, and reads back what it stored.
 *
 * The binary: `MAIDIAN_COLLECTOR_BIN` if set, else `target/debug/maidian-collector`, built with
 * `cargo build -p maidian-collector` when missing. `collectorUnavailable()` says why it cannot be
 * had (the only reason the end-to-end test may skip).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../paths.mjs';
import { waitFor } from './app-host.mjs';

function binaryPath() {
  if (process.env.MAIDIAN_COLLECTOR_BIN) return process.env.MAIDIAN_COLLECTOR_BIN;
  const dir = process.env.CARGO_TARGET_DIR
    ? path.resolve(repoRoot, process.env.CARGO_TARGET_DIR)
    : path.join(repoRoot, 'target');
  return path.join(dir, 'debug', 'maidian-collector');
}

/** Null when the collector binary exists or could be built; otherwise the reason. */
export function collectorUnavailable() {
  const bin = binaryPath();
  if (fs.existsSync(bin)) return null;
  if (process.env.MAIDIAN_COLLECTOR_BIN) return `MAIDIAN_COLLECTOR_BIN=${bin} does not exist`;
  const built = spawnSync('cargo', ['build', '-p', 'maidian-collector'], {
    cwd: repoRoot,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (built.status === 0 && fs.existsSync(bin)) return null;
  return `the collector could not be built (cargo build -p maidian-collector exited ${built.status})`;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/**
 * Every complete stored line under `dir` (`*.ndjson` and `*.open`), parsed. A reader polling
 * while the collector appends can see the start of a line whose `\n` is not written yet (the
 * collector acknowledges only after whole lines are durable): that tail is not an event yet and
 * is left for the next read.
 */
export function storedEvents(dir) {
  const out = [];
  const walk = (d) => {
    if (!fs.existsSync(d)) return;
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (/\.(ndjson|open)$/.test(entry.name)) {
        const text = fs.readFileSync(p, 'utf8');
        for (const line of text.slice(0, text.lastIndexOf('\n') + 1).split('\n')) {
          if (line.trim()) out.push(JSON.parse(line));
        }
      }
    }
  };
  walk(dir);
  return out;
}

/** @param {{args?: string[]}} [o] extra command-line flags, e.g. `['--limit', 'x=1']` */
export async function startCollector({ args = [] } = {}) {
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maidian-collector-'));
  const flags = ['--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, ...args];
  const child = spawn(binaryPath(), flags, {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d) => {
    log += d;
  });
  child.stderr.on('data', (d) => {
    log += d;
  });
  let exited = null;
  child.on('exit', (code) => {
    exited = code;
  });
  await waitFor(
    async () => {
      if (exited !== null) throw new Error(`the collector exited with ${exited}:\n${log}`);
      return canConnect(port);
    },
    'the collector to listen',
    20000,
  );
  return {
    url: `http://127.0.0.1:${port}`,
    dataDir,
    /** Stored events of project `demo`. */
    events: () => storedEvents(path.join(dataDir, 'demo')),
    log: () => log,
    async stop() {
      if (exited !== null) return;
      child.kill('SIGTERM');
      await waitFor(() => exited !== null, 'the collector to stop', 10000).catch(() =>
        child.kill('SIGKILL'),
      );
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
