/**
 * What both framework tests check in the collector's files: waits until the expected number of
 * events is stored and every request was answered, asserts the exact count per event name
 * (page views as `page:<name>`), and the checks every framework shares (launch context, share,
 * page leave and app hide durations).
 */
import assert from 'node:assert/strict';
import { waitFor } from '../../realm/support/app-host.mjs';

/** `page:<name>` for page views, the event name otherwise. */
export const eventKey = (e) => (e.type === 'page' ? `page:${e.name}` : e.event);

/**
 * Waits for `expected` (counts by {@link eventKey}) to be stored, asserts exactly those counts,
 * and returns the events with `one(key)` / `all(key)` lookups.
 */
export async function storedExactly(collector, host, expected) {
  const total = Object.values(expected).reduce((a, b) => a + b, 0);
  const stored = () => collector.events().filter((e) => e.event !== '$sdk_diagnostic');
  await waitFor(() => stored().length >= total, `${total} stored events`, 20000);
  await waitFor(() => host.requests.every((r) => r.status !== undefined), 'every answer');
  const events = stored();
  const counts = {};
  for (const e of events) counts[eventKey(e)] = (counts[eventKey(e)] || 0) + 1;
  assert.deepEqual(counts, expected);
  return {
    events,
    one: (k) => events.find((e) => eventKey(e) === k),
    all: (k) => events.filter((e) => eventKey(e) === k),
  };
}

/** Launch context (scene, campaign source, library) and the page view's path. */
export function assertLaunch({ one }, { scene, source, route }) {
  const launch = one('$app_launch');
  assert.equal(launch.context.miniProgram.scene, scene);
  assert.equal(launch.context.campaign.source, source);
  assert.equal(launch.context.library.name, 'maidian-miniprogram');
  assert.equal(one(`page:${route}`).context.page.path, route);
}

/** The share event's method and path, and the durations of page leave and app hide. */
export function assertShareAndLeave({ one }, { route, sharePath }) {
  const share = one('$share');
  assert.equal(share.properties.method, 'message');
  assert.equal(share.properties.path, sharePath);

  const leave = one('$page_leave');
  assert.equal(leave.context.page.path, route);
  assert.equal(typeof leave.properties.duration_ms, 'number');
  assert.ok(leave.properties.duration_ms >= 0);
  assert.equal(typeof one('$app_hide').properties.duration_ms, 'number');
}
