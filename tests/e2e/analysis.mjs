/**
 * What an analyst computes from the collector's files: events per user, the model key of an
 * event (name + key properties), an ordered funnel. Shared by the truth test and `cargo xtask
 * demo`'s summary.
 */

/** The page name for `page` events, the event name otherwise. */
export const nameOf = (e) => (e.type === 'page' ? `page|${e.name}` : e.event);

/** Name plus the properties that identify what happened (the truth test's model form). */
export function keyOf(e) {
  const p = e.properties || {};
  switch (e.type === 'page' ? 'page' : e.event) {
    case 'page':
      return `page|${e.name}`;
    case '$app_launch':
      return `$app_launch|first=${p.first_visit === true}|scene=${e.context?.miniProgram?.scene}`;
    case '$page_leave':
      return `$page_leave|${e.context?.page?.path}`;
    case '$click':
      return `$click|${p.element_id}`;
    case '$exposure':
      return `$exposure|${p.element_key}`;
    case '$share':
      return `$share|${p.path}`;
    case 'add_to_cart':
      return `add_to_cart|${p.sku}|${p.quantity}`;
    case 'begin_checkout':
      return `begin_checkout|${p.amount}`;
    case 'pay_success':
      return `pay_success|${p.amount}|${(p.skus || []).join(',')}`;
    default:
      return e.event;
  }
}

/** anonymousId (or userId) -> that user's events, in device-time order. */
export function perUser(events) {
  const users = new Map();
  for (const e of events) {
    const id = e.userId || e.anonymousId;
    if (!users.has(id)) users.set(id, []);
    users.get(id).push(e);
  }
  for (const evs of users.values()) {
    evs.sort((a, b) => a.timestamp.localeCompare(b.timestamp));
  }
  return users;
}

/** Which funnel step an event is: `home`, `detail` (page views) or its event name. */
function stepOf(e) {
  if (e.type === 'page') {
    if (e.name === 'pages/home/home') return 'home';
    if (e.name === 'pages/detail/detail') return 'detail';
    if (e.name === 'pages/cart/cart') return 'cart';
    return null;
  }
  return e.event;
}

/** Ordered funnel: how many users reached each step after the previous one. */
export function funnel(users, steps) {
  const counts = steps.map(() => 0);
  for (const evs of users.values()) {
    let k = 0;
    for (const e of evs) if (k < steps.length && stepOf(e) === steps[k]) k += 1;
    for (let j = 0; j < k; j++) counts[j] += 1;
  }
  return counts;
}
