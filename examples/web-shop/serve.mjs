/**
 * A tiny static server for the web shop (no dependencies): the shop's files, the SDK's browser
 * build (`js-wrapper/dist/web`, built by `cargo xtask build-sdk`) at `/sdk/`, `index.html` for
 * every other path (the shop is a single-page app), and — when a collector is given — a
 * generated `/config.js` pointing at it.
 *
 *   node examples/web-shop/serve.mjs [--port 8081] [--collector http://127.0.0.1:8080]
 *                                    [--write-key demo-key]
 *
 * `cargo xtask demo` runs it; the browser test (tests/web/shop.test.mjs) imports `serveShop`.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const sdkDir = path.resolve(here, '../../js-wrapper/dist/web');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

/** `root`/`rel` if it stays inside `root` and is a file, else null. */
function fileIn(root, rel) {
  const p = path.resolve(root, `.${path.posix.normalize(`/${rel}`)}`);
  if (!p.startsWith(root + path.sep)) return null;
  try {
    return fs.statSync(p).isFile() ? p : null;
  } catch {
    return null;
  }
}

/**
 * @param {{port?: number, host?: string, collector?: string, writeKey?: string, options?: object}} o
 *   `options`: extra `init` options merged into the shop's (tests use it for batch settings)
 * @returns {Promise<{url: string, close: () => Promise<void>}>}
 */
export function serveShop({ port = 0, host = '127.0.0.1', collector, writeKey, options } = {}) {
  const config = collector
    ? `export default ${JSON.stringify({
        serverUrl: collector,
        writeKey: writeKey || 'demo-key',
        options: options || {},
      })};\n`
    : null;
  const server = http.createServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    let file = null;
    if (pathname === '/config.js' && config) {
      res.writeHead(200, { 'content-type': TYPES['.js'], 'cache-control': 'no-store' });
      res.end(config);
      return;
    }
    if (pathname.startsWith('/sdk/')) file = fileIn(sdkDir, pathname.slice(5));
    else if (path.extname(pathname)) file = fileIn(here, pathname.slice(1));
    else file = path.join(here, 'index.html');
    if (!file || path.basename(file) === 'serve.mjs') {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(
        pathname.startsWith('/sdk/') ? 'not built: run `cargo xtask build-sdk`\n' : 'not found\n',
      );
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[path.extname(file)] || 'application/octet-stream',
      'cache-control': 'no-store',
    });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(port, host, () => {
      const a = server.address();
      resolve({
        url: `http://${host}:${a.port}`,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections?.();
            server.close(() => done());
          }),
      });
    });
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const flag = (name, fallback) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
  };
  if (!fs.existsSync(path.join(sdkDir, 'index.js'))) {
    console.error(`${sdkDir}/index.js is missing: run \`cargo xtask build-sdk\` first`);
    process.exit(1);
  }
  const { url } = await serveShop({
    port: Number(flag('port', '8081')),
    host: flag('host', '127.0.0.1'),
    collector: flag('collector', undefined),
    writeKey: flag('write-key', undefined),
  });
  console.log(`web shop: ${url}/`);
}
