/**
 * `cargo xtask demo`'s scripted session: a handful of shoppers use the example shop
 * (examples/miniprogram-shop, in the simulated mini-program realm with the shipped SDK) against
 * a running collector; then the collector's files are read and summarised.
 *
 *   node tests/demo/shop-session.mjs --url http://127.0.0.1:8080 --data-dir ./data
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { funnel, nameOf, perUser } from '../e2e/analysis.mjs';
import { waitFor } from '../realm/support/app-host.mjs';
import { storedEvents } from '../realm/support/collector.mjs';
import { createDevice } from '../realm/support/shop.mjs';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:8080' },
    'data-dir': { type: 'string', default: 'data' },
    project: { type: 'string', default: 'demo' },
  },
});
const projectDir = path.resolve(values['data-dir'], values.project);

/** Each shopper: name, launch options, what they do after the consent banner. */
const SHOPPERS = [
  {
    name: 'ana (ad, pays)',
    launch: { query: { utm_source: 'wechat_ad', utm_campaign: 'spring' }, scene: 1045 },
    consent: true,
    session: (d) => {
      d.tap('rec-tea-001');
      d.spend(3000);
      d.tap('add-to-cart');
      d.tap('go-cart');
      d.spend(2000);
      d.tap('pay');
      d.tap('back-home');
    },
  },
  {
    name: 'bo (QR code, adds to cart)',
    launch: {
      query: { q: encodeURIComponent('https://shop.example.com/p?utm_source=qr') },
      scene: 1011,
    },
    consent: true,
    session: (d) => {
      d.tap('cat-teaware');
      d.look(1200);
      d.tap('item-cup-002');
      d.spend(4000);
      d.tap('add-to-cart');
    },
  },
  {
    name: 'chen (organic, browses)',
    launch: { query: {}, scene: 1001 },
    consent: true,
    session: (d) => {
      d.tap('rec-cup-001');
      d.spend(5000);
    },
  },
  {
    name: 'dai (poster code, shares, pays)',
    launch: { query: { scene: 'utm_source%3Dposter' }, scene: 1047 },
    consent: true,
    session: (d) => {
      d.tap('rec-tea-003');
      d.spend(2000);
      d.share('button');
      d.tap('qty-plus');
      d.tap('add-to-cart');
      d.tap('go-cart');
      d.tap('pay');
    },
  },
  {
    name: 'eve (declines consent)',
    launch: { query: {}, scene: 1001 },
    consent: false,
    session: (d) => {
      d.tap('rec-tea-002');
      d.tap('add-to-cart');
    },
  },
];

const devices = [];
for (const s of SHOPPERS) {
  const d = createDevice({ serverUrl: values.url });
  d.launch(s.launch);
  if (!(await d.md.ready())) throw new Error('the SDK did not start in the realm');
  d.look(1000);
  d.tap(s.consent ? 'consent-accept' : 'consent-decline');
  s.session(d);
  d.spend(1000);
  d.hide();
  devices.push({ shopper: s, device: d, anonymousId: d.md.inspect()?.anonymousId ?? null });
  console.log(`  ${s.name.padEnd(34)} ${s.consent ? 'done' : 'done (nothing may be sent)'}`);
}

const ours = new Set(devices.map((x) => x.anonymousId).filter(Boolean));
const thisRun = () =>
  storedEvents(projectDir).filter((e) => ours.has(e.anonymousId) && e.event !== '$sdk_diagnostic');
await waitFor(
  () =>
    devices.every(({ device }) => {
      const s = device.md.inspect()?.stats;
      return !s || (s.queueLen === 0 && s.pendingLen === 0);
    }) && thisRun().length > 0,
  'the collector to acknowledge every event',
  30_000,
);
const expected = devices.reduce(
  (n, { device }) => n + (device.md.inspect()?.stats.eventsDelivered ?? 0),
  0,
);
await waitFor(() => thisRun().length >= expected, `${expected} events in the files`, 10_000);

const events = thisRun();
const files = listFiles(projectDir);
console.log(`\nFiles (${files.length}) under ${projectDir}:`);
for (const f of files.sort().slice(-6)) console.log(`  ${f}`);
const declined = devices.filter((x) => !x.shopper.consent).length;
console.log(
  `\nThis session: ${events.length} events, ${new Set(events.map((e) => e.anonymousId)).size} distinct users (${declined} declined consent: nothing stored)`,
);
console.log('Events by name:');
const byName = {};
for (const e of events)
  byName[nameOf(e).replace('|', ' ')] = (byName[nameOf(e).replace('|', ' ')] || 0) + 1;
for (const [k, n] of Object.entries(byName).sort(
  (a, b) => b[1] - a[1] || a[0].localeCompare(b[0]),
)) {
  console.log(`  ${String(n).padStart(4)}  ${k}`);
}
const steps = ['home', 'detail', 'cart', 'pay_success'];
const f = funnel(perUser(events), steps);
console.log(
  `\nFunnel (distinct users, in order): ${steps.map((s, i) => `${s} ${f[i]}`).join(' → ')}`,
);

/** The collector's data files (`*.ndjson`, and `*.open` while open) under `dir`. */
function listFiles(dir) {
  const out = [];
  const rec = (d) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) rec(p);
      else if (/\.(ndjson|open)$/.test(e.name)) out.push(p);
    }
  };
  rec(dir);
  return out;
}
