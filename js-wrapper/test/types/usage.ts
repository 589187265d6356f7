// Compiled by `tsc -p tsconfig.json` (npm run lint): the public API as an app writes it.
import md, { consent, track } from 'maidian';

md.init({
  serverUrl: 'https://t.example.com',
  writeKey: 'wk',
  consent: 'pending',
  autoTrack: { pageLeave: false, exposure: true },
  batch: { size: 20, intervalMs: 5000 },
  exposure: { className: 'expose', maxNodes: 100, frequency: 'session' },
  share: { augment: true },
  debug: true,
});
track('add_to_cart', { sku: 'SKU-42', price: 59.9, tags: ['a'], nested: { ok: true } });
md.identify('u-1', { level: 'gold' });
md.identify(null);
md.register({ channel: 'wechat' });
consent.grant();
md.consent.deny();
md.flush();
md.reset();
md.rescanExposure({});
md.lifecycle.pageShow();
void md.ready().then((ok: boolean) => ok);
const s: 'idle' | 'loading' | 'ready' | 'disabled' = md.status();
void s;

// @ts-expect-error: serverUrl is required
md.init({ writeKey: 'wk' });
// @ts-expect-error: consent is 'granted' | 'pending'
md.init({ serverUrl: 'https://t', writeKey: 'k', consent: 'yes' });
// @ts-expect-error: properties are JSON
track('x', { f: () => 1 });
