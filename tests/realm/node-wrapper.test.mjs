/**
 * The package's Node entry (`require('maidian')` -> dist/node/index.js): the same API over
 * `fetch` and `crypto.getRandomValues`, sending gzip batches to an HTTP server.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { it } from 'node:test';
import zlib from 'node:zlib';
import { nodeDist, packageDir, requireBuilt } from './paths.mjs';
import { waitFor } from './support/app-host.mjs';

requireBuilt(path.join(nodeDist, 'index.js'));
const require = createRequire(path.join(packageDir, 'package.json'));

it('require("maidian") in Node tracks to a server', async () => {
  const bodies = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      bodies.push({
        headers: req.headers,
        body: JSON.parse(zlib.gunzipSync(Buffer.concat(chunks))),
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"accepted":1}');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    const md = require('maidian');
    assert.equal(typeof md.init, 'function');
    md.track('before_init', { n: 1 });
    md.init({
      serverUrl: `http://127.0.0.1:${server.address().port}`,
      writeKey: 'wk',
      batch: { size: 2 },
    });
    md.track('after_init', { n: 2 });
    assert.equal(await md.ready(), true);
    await waitFor(() => bodies.length > 0, 'a batch at the server');
    const { headers, body } = bodies[0];
    assert.equal(headers['x-write-key'], 'wk');
    assert.equal(headers['content-encoding'], 'gzip');
    assert.deepEqual(
      body.batch.map((e) => e.event),
      ['before_init', 'after_init'],
    );
    assert.equal(body.batch[0].context.library.name, 'maidian-node');
    await waitFor(() => md.inspect().stats.eventsDelivered === 2, 'the batch acknowledged');
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
