// Where events go. In WeChat DevTools tick "Does not verify valid domain names" for a local
// collector; in production use your HTTPS collector domain (added to the request domain list).
module.exports = {
  serverUrl: 'http://127.0.0.1:8080',
  writeKey: 'demo-key',
};
