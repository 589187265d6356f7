/**
 * Hooks for mini-programs: wraps the global `App`, `Page` and `Component` constructors so the
 * lifecycles, tap handlers and share handlers of the app report raw events to the core.
 *
 * Rules every wrapper follows:
 * - the app's own function runs with its own `this` and arguments, and its return value (or
 *   promise, or exception) is handed back unchanged;
 * - lifecycle events are reported AFTER the app's function ran (so what `onShow` registers is on
 *   the event), tap events BEFORE it (the handler usually navigates away);
 * - the SDK part is guarded: nothing it does can throw into the app;
 * - nothing is added that changes the app's behaviour: a share handler is wrapped only when the
 *   page has one (adding one would turn the share menu on), payloads are rewritten only with
 *   `share.augment`.
 *
 * Read-only lifecycle objects (a frozen `App()` options object) cannot be wrapped; then
 * `wx.onAppShow` / `wx.onAppHide` report the app events, and `md.lifecycle.*` lets a framework
 * report the rest explicitly.
 *
 * The event semantics (which switches are on, exposure ratio/dwell/frequency, share chain) are
 * the core's; this file only reads the options it needs to decide what to observe.
 */

import { snapshot } from '../public-api.mjs';

/* global App, Page, Component, getCurrentPages */

const TAP_TYPES = ['tap', 'longpress', 'longtap'];
/** Page lifecycle and framework callbacks: never treated as tap handlers. */
const PAGE_CALLBACKS = (
  'onLoad onShow onReady onHide onUnload onRouteDone onPullDownRefresh onReachBottom ' +
  'onShareAppMessage onShareTimeline onAddToFavorites onPageScroll onResize onTabItemTap ' +
  'onSaveExitState'
).split(' ');
/** Share handlers and the `method` the core gets for each. */
const SHARE_HANDLERS = { onShareAppMessage: 'message', onShareTimeline: 'timeline' };
/** `App()` lifecycles and the core input each one reports (after it ran). */
const APP_LIFECYCLES = { onLaunch: 'appLaunch', onShow: 'appShow', onHide: 'appHide' };
const MARK = '__maidian';

function isObject(x) {
  return x !== null && typeof x === 'object';
}

function isThenable(x) {
  return isObject(x) && typeof x.then === 'function';
}

/** Sets `obj[name]`, reporting whether it took (frozen or accessor-only objects refuse). */
function replace(obj, name, value) {
  try {
    obj[name] = value;
  } catch (_) {
    return false;
  }
  return obj[name] === value;
}

/** `make(fn)`, marked as ours; `fn` itself when it is not a function or already ours. */
function wrapOnce(fn, make) {
  if (typeof fn !== 'function' || fn[MARK]) return fn;
  const wrapped = make(fn);
  wrapped[MARK] = true;
  return wrapped;
}

/**
 * @param {object} deps
 * @param {object} deps.input the client's raw inputs (../client.mjs)
 * @param {object} deps.api the host API object (`wx`, `tt`, ...)
 */
export function createHooks({ input, api }) {
  /** Per page/component instance: `{ query, ready, observer, setData }`. */
  const instances = new WeakMap();
  let appHooked = false;
  let launched = false;
  const warned = {};

  function guard(where, fn) {
    try {
      return fn();
    } catch (err) {
      input.internal(where, err);
      return undefined;
    }
  }

  function warnOnce(key, message) {
    if (warned[key]) return;
    warned[key] = true;
    console.warn('[maidian]', message);
  }

  function stateOf(ctx) {
    let s = instances.get(ctx);
    if (!s) {
      s = {};
      instances.set(ctx, s);
    }
    return s;
  }

  /** What the hooks need from the `init` options (all on until `init` says otherwise). */
  function settings() {
    const o = input.options() || {};
    const at = o.autoTrack || {};
    const x = o.exposure || {};
    return {
      click: at.click !== false,
      exposure: at.exposure !== false,
      className: typeof x.className === 'string' && x.className ? x.className : 'md-expose',
      maxNodes: x.maxNodes > 0 ? x.maxNodes : 200,
      ratio: x.ratio > 0 && x.ratio <= 1 ? x.ratio : 0.5,
      components: x.components !== false,
      augment: !!o.share?.augment,
    };
  }

  /**
   * A lifecycle in place of `user` (which may be absent): runs it with the same `this` and
   * arguments and returns what it returned (or throws what it threw), then reports
   * `report(this, firstArgument)`, guarded.
   */
  function thenReport(user, where, report) {
    return function (...args) {
      try {
        return typeof user === 'function' ? user.apply(this, args) : undefined;
      } finally {
        guard(where, () => report(this, args[0]));
      }
    };
  }

  function launchOptions(opts) {
    const o = isObject(opts) ? opts : {};
    return {
      path: typeof o.path === 'string' ? o.path : undefined,
      query: snapshot(o.query) || {},
      scene: typeof o.scene === 'number' ? o.scene : Number(o.scene) || undefined,
    };
  }

  /** Reports app event `kind` (`appLaunch` / `appShow` / `appHide`) with the host's options. */
  function appEvent(kind, opts) {
    if (kind === 'appHide') input.appHide();
    else input[kind](launchOptions(opts));
  }

  function currentPage() {
    const pages = typeof getCurrentPages === 'function' ? getCurrentPages() : undefined;
    return pages?.length ? pages[pages.length - 1] : undefined;
  }

  /** Whether a component instance is a page (a Component() used as a page). */
  function isPage(ctx) {
    return isObject(ctx) && (typeof ctx.route === 'string' || ctx === currentPage());
  }

  function routeOf(ctx) {
    return isObject(ctx) && typeof ctx.route === 'string' ? ctx.route : '';
  }

  // ---------------------------------------------------------------------------------- exposure

  function disconnectExposure(ctx) {
    const s = instances.get(ctx);
    const live = s?.observer;
    if (!live) return;
    s.observer = null;
    live.on = false;
    try {
      live.ob.disconnect();
    } catch (_) {
      // Already gone with its page.
    }
  }

  function connectExposure(ctx) {
    const cfg = settings();
    if (!cfg.exposure || !isObject(ctx) || typeof ctx.createIntersectionObserver !== 'function') {
      return;
    }
    disconnectExposure(ctx);
    const thresholds = [0, cfg.ratio, 1].filter((t, i, a) => a.indexOf(t) === i);
    const ob = ctx.createIntersectionObserver({ observeAll: true, thresholds });
    const live = { ob, on: true };
    stateOf(ctx).observer = live;
    const keys = {};
    let count = 0;
    ob.relativeToViewport().observe(`.${cfg.className}`, (res) =>
      guard('exposure', () => {
        if (!live.on || !isObject(res)) return;
        const dataset = isObject(res.dataset) ? res.dataset : {};
        const raw = dataset.mdKey !== undefined && dataset.mdKey !== '' ? dataset.mdKey : res.id;
        if (raw === undefined || raw === null || raw === '') {
          warnOnce(
            'nokey',
            `an element with class "${cfg.className}" has neither data-md-key nor an id; it is not tracked`,
          );
          return;
        }
        const key = String(raw);
        if (!keys[key]) {
          if (count >= cfg.maxNodes) {
            warnOnce(
              'cap',
              `more than ${cfg.maxNodes} exposure elements on one page or component; the rest are ignored (exposure.maxNodes)`,
            );
            return;
          }
          keys[key] = true;
          count += 1;
        }
        input.exposure([
          { key, ratio: Number(res.intersectionRatio) || 0, dataset: snapshot(dataset) || {} },
        ]);
      }),
    );
  }

  /** Connects exposure if the instance is ready (its first render is done). */
  function reconnectExposure(ctx) {
    if (stateOf(ctx).ready) connectExposure(ctx);
  }

  /** Re-observes after `setData` added nodes (lists); the core never counts an element twice. */
  function rescanExposure(ctx) {
    guard('rescanExposure', () => {
      const target = ctx || currentPage();
      if (target) reconnectExposure(target);
    });
  }

  function readyExposure(ctx) {
    stateOf(ctx).ready = true;
    connectExposure(ctx);
  }

  // -------------------------------------------------------------------------------- page events

  function pageShow(ctx) {
    const s = stateOf(ctx);
    input.pageShow({ path: routeOf(ctx), query: s.query || snapshot(ctx.options) || {} });
    reconnectExposure(ctx);
  }

  function pageHide(ctx) {
    disconnectExposure(ctx);
    input.pageHide();
  }

  /** Page lifecycles and what each reports (after the app's function ran). */
  const PAGE_LIFECYCLES = {
    onLoad: (ctx, query) => {
      stateOf(ctx).query = snapshot(query) || {};
    },
    onShow: pageShow,
    onReady: readyExposure,
    onHide: pageHide,
    onUnload: pageHide,
  };

  // -------------------------------------------------------------------------------- handlers

  function wrapHandler(user, name) {
    return wrapOnce(
      user,
      () =>
        function (...args) {
          // Every tap goes to the core, which drops it when `autoTrack.click` is off.
          const e = args[0];
          const t = isObject(e) && e.currentTarget;
          if (TAP_TYPES.indexOf(e?.type) >= 0 && isObject(t)) {
            guard('tap', () =>
              input.tap({
                kind: e.type,
                elementId: typeof t.id === 'string' && t.id ? t.id : undefined,
                handler: name,
                dataset: snapshot(t.dataset) || {},
              }),
            );
          }
          return user.apply(this, args);
        },
    );
  }

  /** The payload with the share chain (only with `share.augment`); a new object. */
  function augment(ctx, method, payload) {
    if (!settings().augment || !isObject(payload)) return payload;
    const out = Object.assign({}, payload);
    const route = `/${routeOf(ctx)}`;
    if (method === 'timeline') {
      const full = input.sharePath(out.query ? `${route}?${out.query}` : route, method);
      const q = full.indexOf('?');
      out.query = q >= 0 ? full.slice(q + 1) : '';
    } else {
      out.path = input.sharePath(out.path || route, method);
    }
    return out;
  }

  function wrapShare(user, method) {
    return wrapOnce(
      user,
      () =>
        function (...args) {
          const opts = args[0];
          const result = user.apply(this, args);
          const out = guard('share', () => {
            // The path shared, as the host will open it (the page's own when the payload has none).
            const p = isObject(result) && !isThenable(result) ? result : {};
            const route = `/${routeOf(this)}`;
            const given = method === 'timeline' ? p.query : p.path;
            let path = route;
            if (typeof given === 'string' && given) {
              path = method === 'timeline' ? `${route}?${given}` : given;
            }
            input.share({ method, from: isObject(opts) ? opts.from : undefined, path });
            if (!settings().augment) return result;
            const aug = (payload) => augment(this, method, payload);
            if (isThenable(result)) return result.then(aug);
            const sync = aug(result);
            if (isObject(sync) && isThenable(sync.promise)) sync.promise = sync.promise.then(aug);
            return sync;
          });
          return out === undefined ? result : out;
        },
    );
  }

  // -------------------------------------------------------------------------------- App

  function hookApp(options) {
    if (!isObject(options)) return;
    const originals = {};
    let ok = true;
    for (const name of Object.keys(APP_LIFECYCLES)) {
      const user = options[name];
      originals[name] = user;
      ok =
        ok &&
        replace(
          options,
          name,
          thenReport(user, `App.${name}`, (_, opts) => {
            if (name === 'onLaunch') launched = true;
            appEvent(APP_LIFECYCLES[name], opts);
          }),
        );
    }
    if (ok) {
      appHooked = true;
    } else {
      // Put back whatever we managed to change; the onAppShow/onAppHide fallback reports them.
      for (const name of Object.keys(originals)) replace(options, name, originals[name]);
    }
  }

  /** `wx.onAppShow` / `wx.onAppHide`: used only when `App()` could not be hooked. */
  function listenAppEvents() {
    const listen = (name, report) => {
      if (typeof api?.[name] === 'function') api[name]((opts) => guard(name, () => report(opts)));
    };
    listen('onAppShow', (opts) => {
      if (appHooked) return;
      if (!launched) {
        launched = true;
        const sync = api.getLaunchOptionsSync;
        appEvent('appLaunch', typeof sync === 'function' ? api.getLaunchOptionsSync() : {});
      }
      appEvent('appShow', opts);
    });
    listen('onAppHide', () => {
      if (!appHooked) input.appHide();
    });
  }

  // -------------------------------------------------------------------------------- Page

  function hookPageOptions(options, methods) {
    // `methods` is where handlers live: the options object itself for Page(), `methods` for a
    // Component() used as a page (there the lifecycles act only when `this` is a page).
    const forPage = methods === options;
    for (const name of Object.keys(PAGE_LIFECYCLES)) {
      const user = methods[name];
      replace(
        methods,
        name,
        thenReport(user, name, (ctx, arg) => {
          if (forPage || isPage(ctx)) PAGE_LIFECYCLES[name](ctx, arg);
        }),
      );
    }
    for (const name of Object.keys(SHARE_HANDLERS)) {
      const user = methods[name];
      if (typeof user === 'function') replace(methods, name, wrapShare(user, SHARE_HANDLERS[name]));
    }
  }

  /**
   * Wraps the handlers of `obj` (all functions but the page callbacks). `invokers`: only
   * uni-app (Vue 3) event invokers, which it puts on the component INSTANCE while Vue renders
   * (`this.e0 = invoker`, a function carrying its handler in `.value`) and whose `.value`
   * re-renders patch in place; the wrapper forwards `.value` so those patches still reach the
   * original. Nothing else on the instance is touched.
   */
  function wrapHandlers(obj, invokers) {
    for (const name of Object.keys(obj)) {
      if (PAGE_CALLBACKS.indexOf(name) >= 0) continue;
      const fn = invokers ? Object.getOwnPropertyDescriptor(obj, name)?.value : obj[name];
      if (typeof fn !== 'function' || fn[MARK] || (invokers && typeof fn.value !== 'function')) {
        continue;
      }
      const wrapped = wrapHandler(fn, name);
      if (invokers) {
        Object.defineProperty(wrapped, 'value', {
          get: () => fn.value,
          set: (v) => {
            fn.value = v;
          },
          configurable: true,
        });
      }
      replace(obj, name, wrapped);
    }
  }

  /**
   * After `attached` (first render): wraps the invokers now, and — only on instances that carry a
   * Vue instance (`$vm`, set by uni-app in `attached`) — after every `setData`, so a native
   * component's `setData` is never touched.
   */
  function watchInvokers(ctx) {
    if (!settings().click || !isObject(ctx)) return;
    wrapHandlers(ctx, true);
    const s = stateOf(ctx);
    const setData = ctx.setData;
    if (s.setData || typeof setData !== 'function' || !isObject(ctx.$vm)) return;
    s.setData = replace(ctx, 'setData', function (...args) {
      try {
        return setData.apply(this, args);
      } finally {
        guard('setData', () => wrapHandlers(ctx, true));
      }
    });
  }

  function hookPage(options) {
    if (!isObject(options)) return;
    hookPageOptions(options, options);
    wrapHandlers(options);
  }

  // -------------------------------------------------------------------------------- Component

  /** Ensures `options[name]` is an object (false when it cannot be added). */
  function hasObject(options, name) {
    return isObject(options[name]) || replace(options, name, {});
  }

  /** Wraps lifetime `name` of `holder` (or the legacy top-level `fallback`) to `report(this)`. */
  function hookLifetime(holder, name, fallback, report) {
    replace(holder, name, thenReport(holder[name] || fallback, `Component.${name}`, report));
  }

  function hookComponent(options) {
    if (!isObject(options) || !hasObject(options, 'methods')) return;
    const methods = options.methods;
    hookPageOptions(options, methods);
    wrapHandlers(methods);
    if (!hasObject(options, 'lifetimes')) return;
    const { lifetimes } = options;
    hookLifetime(lifetimes, 'attached', options.attached, watchInvokers);
    // Exposure inside the component's own tree (a page's observer cannot see into it).
    if (!settings().components || !hasObject(options, 'pageLifetimes')) return;
    const notPage = (fn) => (ctx) => {
      if (!isPage(ctx)) fn(ctx);
    };
    hookLifetime(lifetimes, 'ready', options.ready, notPage(readyExposure));
    hookLifetime(lifetimes, 'detached', options.detached, notPage(disconnectExposure));
    hookLifetime(options.pageLifetimes, 'show', undefined, notPage(reconnectExposure));
    hookLifetime(options.pageLifetimes, 'hide', undefined, notPage(disconnectExposure));
  }

  // -------------------------------------------------------------------------------- install

  function wrapConstructor(original, hook, name) {
    return wrapOnce(
      original,
      () =>
        function (...args) {
          guard(name, () => hook(args[0]));
          return original.apply(this, args);
        },
    );
  }

  /** Replaces the global constructors (once per realm, even if the package is loaded twice). */
  function install() {
    // Assigning the globals is how every mini-program SDK hooks them: `App`/`Page`/`Component`
    // are plain writable globals of the app service realm.
    if (typeof App === 'function') App = wrapConstructor(App, hookApp, 'App');
    if (typeof Page === 'function') Page = wrapConstructor(Page, hookPage, 'Page');
    if (typeof Component === 'function') {
      Component = wrapConstructor(Component, hookComponent, 'Component');
    }
    listenAppEvents();
  }

  /** Explicit reporting, for frameworks whose lifecycle objects cannot be wrapped. */
  const explicit = (fn) => (arg) => guard('lifecycle', () => fn(arg));
  const lifecycle = {
    pageShow: explicit((page) => {
      const ctx = page || currentPage();
      if (!ctx) return;
      const s = stateOf(ctx);
      if (!s.query) s.query = snapshot(ctx.options) || {};
      s.ready = true;
      pageShow(ctx);
    }),
    pageHide: explicit((page) => pageHide(page || currentPage())),
  };
  for (const name of Object.keys(APP_LIFECYCLES)) {
    const kind = APP_LIFECYCLES[name];
    lifecycle[kind] = explicit((opts) => appEvent(kind, opts));
  }

  return { install, rescanExposure, lifecycle };
}
