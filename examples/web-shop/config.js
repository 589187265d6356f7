// Where events go. serve.mjs serves its own /config.js when given --collector; this file is the
// default for any other static server (the collector of `cargo xtask demo` / `cargo run -p
// maidian-collector` on 127.0.0.1:8080 with the demo project's write key).
export default {
  serverUrl: 'http://127.0.0.1:8080',
  writeKey: 'demo-key',
  options: {},
};
