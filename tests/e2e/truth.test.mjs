/**
 * End-to-end truth test: a scripted population of shoppers drives the example shop
 * (examples/miniprogram-shop, unchanged) in the simulated mini-program realm with the SHIPPED
 * `miniprogram_dist`, against the real collector. Then the collector's FILES ALONE are read back
 * and the funnel, per-channel conversion and D1 retention computed from them must equal what the
 * script did, exactly; and every consenting user's events must be there exactly once, and no
 * denying user's.
 *
 * Determinism: a seeded PRNG (mulberry32) decides the SCRIPT only (who comes from which channel,
 * how far they go, who declines, goes offline, is killed, comes back). Event ids come from the
 * SDK's real random source (`wx.getRandomValues` -> crypto), as on a device.
 *
 * Time: each device has a simulated clock (the realm's `Date.now()` = Node's + an offset). Day 0
 * is three days before today (UTC) so that "day 1" is also in the past. The collector corrects
 * device clocks that are off by more than `skew_threshold_ms` (docs/PROTOCOL.md, Clock skew):
 * here every device is deliberately ~2-3 days "off" (it lives in the past), so the threshold is
 * raised to 10 days and `max_past_ms` kept at 30 days to cover day 0. The stored `timestamp` then
 * equals the device time (`originalTimestamp`), which the test also asserts, and day buckets
 * computed from the files are the script's days.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { miniprogramDist, requireBuilt } from '../realm/paths.mjs';
import { waitFor } from '../realm/support/app-host.mjs';
import { collectorUnavailable, startCollector } from '../realm/support/collector.mjs';
import { mulberry32 } from '../realm/support/prng.mjs';
import { createDevice } from '../realm/support/shop.mjs';
import { funnel, keyOf, perUser } from './analysis.mjs';

const SEED = 0x6d616964; // "maid"
const USERS = Number(process.env.MAIDIAN_TRUTH_USERS) || 240;
const CONCURRENCY = 12;
const DAY = 86_400_000;
const DAY0 = Math.floor(Date.now() / DAY) * DAY - 3 * DAY;

const bundle = fs.readFileSync(requireBuilt(path.join(miniprogramDist, 'index.js')), 'utf8');
const missing = !bundle.includes('Maidian')
  ? 'the built wasm has no SDK core (sdk-wasm bindings export no `Maidian`)'
  : collectorUnavailable();

/** Launch options per channel; `source` is what the files must attribute the user to. */
const CHANNELS = {
  ad: {
    source: 'wechat_ad',
    launch: { query: { utm_source: 'wechat_ad', utm_campaign: 'spring' }, scene: 1045 },
  },
  // A mini-program code: the UTM fields arrive URL-encoded in query.scene.
  poster: {
    source: 'poster',
    launch: { query: { scene: 'utm_source%3Dposter%26utm_medium%3Doffline' }, scene: 1047 },
  },
  // An ordinary QR code: the scanned URL in `q`.
  qr: {
    source: 'qr',
    launch: {
      query: {
        q: encodeURIComponent('https://shop.example.com/p?utm_source=qr&utm_content=table%207'),
      },
      scene: 1011,
    },
  },
  // Opened from a friend's share card: lands on the shared product.
  share: {
    source: null,
    launch: { path: 'pages/detail/detail', query: { sku: 'cup-002' }, scene: 1007 },
  },
  organic: { source: null, launch: { query: {}, scene: 1001 } },
};
const CHANNEL_NAMES = Object.keys(CHANNELS);
/** The channel a user is attributed to, from the first launch event alone. */
export const channelOf = (launch) =>
  launch.context?.campaign?.source ??
  (launch.context?.miniProgram?.scene === 1007 ? 'share' : 'organic');

const HOME = 'pages/home/home';
const LIST = 'pages/list/list';
const DETAIL = 'pages/detail/detail';
const CART = 'pages/cart/cart';
const PAY = 'pages/pay-success/pay-success';

/**
 * One scripted user. `plan` is drawn from the PRNG up front; `run` drives the device and records
 * the events the SDK must produce, in the model's key form (see analysis.mjs `keyOf`).
 */
function makePlan(i, rand) {
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const channel = CHANNEL_NAMES[Math.floor(rand() * CHANNEL_NAMES.length)];
  const declines = rand() < 0.1;
  const toDetail = channel === 'share' || rand() < 0.75;
  const viaList = rand() < 0.4;
  const addToCart = toDetail && rand() < 0.65;
  const pays = addToCart && rand() < 0.6;
  return {
    i,
    channel,
    declines,
    toDetail,
    viaList,
    category: pick(['tea', 'teaware', 'snacks']),
    recIndex: Math.floor(rand() * 4),
    listIndex: Math.floor(rand() * 2),
    extraQty: rand() < 0.3,
    addToCart,
    pays,
    shares: toDetail && rand() < 0.25,
    offline: rand() < 0.15,
    killed: rand() < 0.15,
    returnsD1: !declines && rand() < 0.35,
    startMs: DAY0 + 8 * 3600_000 + i * 97_000 + Math.floor(rand() * 60_000),
  };
}

const CATALOG = {
  tea: ['tea-001', 'tea-002', 'tea-003'],
  teaware: ['cup-001', 'cup-002'],
  snacks: ['snk-001', 'snk-002', 'snk-003'],
};
const PRICES = {
  'tea-001': 128,
  'tea-002': 96,
  'tea-003': 210,
  'cup-001': 45,
  'cup-002': 388,
  'snk-001': 32,
  'snk-002': 168,
  'snk-003': 18,
};
const REC = ['tea-001', 'tea-002', 'tea-003', 'cup-001'];

/** What `want` has that `got` lacks, and the other way round (multisets). */
function multisetDiff(got, want) {
  const count = new Map();
  for (const k of want) count.set(k, (count.get(k) || 0) + 1);
  for (const k of got) count.set(k, (count.get(k) || 0) - 1);
  const missing = [];
  const extra = [];
  for (const [k, n] of [...count].sort()) {
    for (let j = 0; j < n; j++) missing.push(k);
    for (let j = 0; j < -n; j++) extra.push(k);
  }
  return { missing, extra };
}

/** Waits until the running process has nothing queued or in flight (nudging its flush). */
async function settle(d) {
  let polls = 0;
  await waitFor(
    () => {
      const s = d.md.inspect()?.stats;
      if (!s || (s.queueLen === 0 && s.pendingLen === 0)) return true;
      if (++polls % 40 === 0) d.md.flush();
      return false;
    },
    'the background process to deliver its queue',
    30_000,
  );
}

async function runUser(plan, serverUrl, rand) {
  const d = createDevice({ serverUrl, startMs: plan.startMs });
  const expected = [];
  const steps = []; // funnel steps in the order they happen
  let route = null;
  const think = () => d.spend(1000 + Math.floor(rand() * 4000));
  const ev = (k) => expected.push(k);
  const view = (r) => {
    route = r;
    ev(`page|${r}`);
    if (r === HOME) steps.push('home');
    if (r === DETAIL) steps.push('detail');
  };
  const leave = () => ev(`$page_leave|${route}`);
  const click = (id) => {
    think();
    ev(`$click|${id}`);
    d.tap(id);
  };
  const navClick = (id, to) => {
    click(id);
    leave();
    view(to);
  };
  const look = () => {
    for (const n of d.look(800 + Math.floor(rand() * 1000))) ev(`$exposure|${n.dataset.mdKey}`);
  };
  const hide = () => {
    think();
    leave();
    ev('$app_hide');
    d.hide();
  };
  const launch = (opts, first) => {
    d.launch(opts);
    ev(`$app_launch|first=${first}|scene=${opts.scene}`);
    ev('$app_show');
    view(opts.path || HOME);
  };

  // ---- day 0
  const ch = CHANNELS[plan.channel];
  launch(ch.launch, true);
  assert.equal(await d.md.ready(), true, 'the wasm core started');
  if (route === DETAIL) {
    // Landed on a shared product; the consent banner is on the home page only, so this user
    // decides later. Nothing is stored or sent before that.
    think();
  }
  const goHome = route !== HOME;
  if (goHome) {
    // Share arrivals look at the product, then tap through to the shop's home (reLaunch).
    think();
    d.host.wx.reLaunch({ url: `/${HOME}` });
    leave();
    view(HOME);
  }
  let anonymousId = null;
  if (plan.declines) {
    click('consent-decline');
    anonymousId = d.md.inspect()?.anonymousId ?? null;
  } else {
    click('consent-accept');
    anonymousId = d.md.inspect().anonymousId;
    assert.ok(anonymousId, 'an anonymous id after consent');
  }
  if (plan.offline) d.offline();
  look();
  if (plan.toDetail) {
    let sku;
    if (plan.viaList) {
      navClick(`cat-${plan.category}`, LIST);
      look();
      sku = CATALOG[plan.category][plan.listIndex];
      navClick(`item-${sku}`, DETAIL);
    } else {
      sku = REC[plan.recIndex];
      navClick(`rec-${sku}`, DETAIL);
    }
    let qty = 1;
    if (plan.extraQty) {
      click('qty-plus');
      qty = 2;
    }
    if (plan.shares) {
      think();
      d.share('button');
      ev(`$share|/pages/detail/detail?sku=${sku}`);
    }
    if (plan.addToCart) {
      click('add-to-cart');
      ev(`add_to_cart|${sku}|${qty}`);
      steps.push('add_to_cart');
      if (plan.offline) {
        // The network came back while the user was in another app.
        hide();
        d.spend(5 * 60_000);
        d.online();
        d.show();
        ev('$app_show');
        view(route);
      }
      navClick('go-cart', CART);
      if (plan.pays) {
        const amount = PRICES[sku] * qty;
        click('pay');
        ev(`begin_checkout|${amount}`);
        ev(`pay_success|${amount}|${sku}`);
        steps.push('pay_success');
        leave();
        view(PAY);
        navClick('back-home', HOME);
      }
    }
  }
  if (plan.offline && d.host.network === 'none') {
    hide();
    d.spend(5 * 60_000);
    d.online();
    d.show();
    ev('$app_show');
    view(route);
  }
  hide();
  // Killed right after hide; the others stay in the background until what they hold is
  // delivered (the SDK's retry), and are reclaimed later.
  if (!plan.killed) await settle(d);
  d.kill();
  if (plan.killed && !plan.declines) {
    // Relaunched two hours later: whatever the killed process had not seen acknowledged is sent
    // again; the collector must store it once.
    d.spend(2 * 3600_000);
    launch({ query: {}, scene: 1001 }, false);
    await d.md.ready();
    look();
    hide();
    await settle(d);
    d.kill();
  }
  // ---- day 1
  if (plan.returnsD1) {
    d.clock.offsetMs += DAY0 + DAY + 10 * 3600_000 - d.now();
    launch({ query: {}, scene: 1089 }, false);
    await d.md.ready();
    look();
    hide();
    await settle(d);
    d.kill();
  }
  const mdKeys = [...d.storage.map.keys()].filter((k) => k.startsWith('md_'));
  return { plan, anonymousId, expected: plan.declines ? [] : expected, steps, device: d, mdKeys };
}

describe('truth: scripted shoppers -> collector files -> the same numbers', {
  skip: missing || false,
}, () => {
  let collector;
  before(async () => {
    collector = await startCollector({
      args: ['--limit', `skew_threshold_ms=${10 * DAY}`, '--limit', `max_past_ms=${30 * DAY}`],
    });
  });
  after(async () => {
    await collector?.stop();
  });

  it(`${USERS} users: funnel, channels, D1 retention, every event exactly once`, async () => {
    const started = Date.now();
    const rand = mulberry32(SEED);
    const plans = Array.from({ length: USERS }, (_, i) => makePlan(i, rand));
    // Every user gets its own PRNG stream for think times, so running users concurrently does
    // not change the script.
    const results = new Array(USERS);
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < USERS) {
          const i = next++;
          results[i] = await runUser(plans[i], collector.url, mulberry32(SEED + 1 + i));
        }
      }),
    );

    const consenting = results.filter((r) => !r.plan.declines);
    const total = consenting.reduce((n, r) => n + r.expected.length, 0);
    const stored = () => collector.events().filter((e) => e.event !== '$sdk_diagnostic');
    // On a timeout, go on: the per-user comparison below says whose events are missing.
    await waitFor(
      () => stored().length >= total,
      `${total} events`,
      Number(process.env.MAIDIAN_TRUTH_WAIT || 60_000),
    ).catch((e) => console.log(`${e.message}; have ${stored().length}`));
    // Every request of every process answered (a late duplicate would land before this).
    await waitFor(
      () =>
        results.every((r) =>
          r.device.runs.every((h) => h.requests.every((q) => q.status !== undefined)),
        ),
      'every request answered',
      20_000,
    );
    const events = stored();

    // ---- integrity
    const ids = new Set(events.map((e) => e.messageId));
    assert.equal(ids.size, events.length, 'messageId unique');
    const bodies = new Set(
      events.map((e) => {
        const { messageId, receivedAt, ...rest } = e;
        return JSON.stringify(rest);
      }),
    );
    assert.equal(bodies.size, events.length, 'no two stored events identical except their ids');
    for (const e of events) {
      assert.equal(e.timestamp, e.originalTimestamp, 'device time kept (no skew correction)');
    }
    const byAnon = new Map(consenting.map((r) => [r.anonymousId, r]));
    assert.equal(byAnon.size, consenting.length, 'one anonymous id per consenting device');
    const users = perUser(events);
    for (const anon of users.keys()) {
      assert.ok(byAnon.has(anon), `stored events of an unknown (denying?) device ${anon}`);
    }
    for (const r of results.filter((x) => x.plan.declines)) {
      assert.equal(r.anonymousId, null);
      // Only the decision itself is remembered (so the app does not ask again).
      assert.deepEqual(r.mdKeys, ['md_consent'], `denying user ${r.plan.i}: SDK keys in storage`);
    }
    for (const r of consenting) {
      const got = (users.get(r.anonymousId) || []).map(keyOf);
      assert.deepEqual(
        multisetDiff(got, r.expected),
        { missing: [], extra: [] },
        `events of user ${r.plan.i} (${r.anonymousId}, ${JSON.stringify(r.plan)})`,
      );
    }

    // ---- funnel (ordered, distinct users), from the files vs the script
    const STEPS = ['home', 'detail', 'add_to_cart', 'pay_success'];
    const scriptFunnel = STEPS.map(() => 0);
    for (const r of consenting) {
      let k = 0;
      for (const s of r.steps) if (s === STEPS[k]) k += 1;
      for (let j = 0; j < k; j++) scriptFunnel[j] += 1;
    }
    assert.deepEqual(
      funnel(users, STEPS),
      scriptFunnel,
      'home → detail → add_to_cart → pay_success',
    );

    // ---- per-channel conversion (users / paying users), attribution from the first launch
    const fromFiles = {};
    for (const evs of users.values()) {
      const first = evs.find((e) => e.event === '$app_launch' && e.properties?.first_visit);
      const ch = channelOf(first);
      fromFiles[ch] ??= { users: 0, paid: 0 };
      fromFiles[ch].users += 1;
      if (evs.some((e) => e.event === 'pay_success')) fromFiles[ch].paid += 1;
    }
    const fromScript = {};
    for (const r of consenting) {
      const ch = CHANNELS[r.plan.channel].source ?? r.plan.channel;
      fromScript[ch] ??= { users: 0, paid: 0 };
      fromScript[ch].users += 1;
      if (r.plan.pays) fromScript[ch].paid += 1;
    }
    assert.deepEqual(fromFiles, fromScript, 'per-channel conversion');

    // ---- D1 retention: of the day-0 cohort, who has any event on day 1
    const dayOf = (e) => Math.floor((Date.parse(e.timestamp) - DAY0) / DAY);
    let cohort = 0;
    let retained = 0;
    for (const evs of users.values()) {
      if (!evs.some((e) => dayOf(e) === 0 && e.properties?.first_visit)) continue;
      cohort += 1;
      if (evs.some((e) => dayOf(e) === 1)) retained += 1;
    }
    assert.deepEqual(
      { cohort, retained },
      { cohort: consenting.length, retained: consenting.filter((r) => r.plan.returnsD1).length },
      'D1 retention',
    );

    // The script really exercised the hard cases.
    const failed = results.filter((r) =>
      r.device.runs.some((h) => h.requests.some((q) => q.status === 0)),
    );
    assert.ok(
      failed.length > 0 && failed.every((r) => r.plan.offline),
      'offline users saw failed requests',
    );
    assert.ok(consenting.some((r) => r.plan.killed) && consenting.some((r) => r.plan.returnsD1));

    const f = scriptFunnel.join(' → ');
    console.log(
      `truth: ${USERS} users (${USERS - consenting.length} declined), ${events.length} events, funnel ${f}, D1 ${retained}/${cohort}, channels ${JSON.stringify(fromFiles)}, ${Date.now() - started} ms`,
    );
  });
});
