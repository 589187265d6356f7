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

import { snapshot, TAG } from '../public-api.mjs';
import { call } from './host.mjs';

/* global App, Page, Component, getCurrentPages */

/** Event types that are taps. */
const TAP = /^(tap|longpress|longtap)$/;
/** Page lifecycle and framework callbacks: never treated as tap handlers. */
const PAGE_CALLBACK =
  /^on(Load|Show|Ready|Hide|Unload|RouteDone|PullDownRefresh|ReachBottom|ShareAppMessage|ShareTimeline|AddToFavorites|PageScroll|Resize|TabItemTap|SaveExitState)$/;
/** Share handlers and the `method` the core gets for each. */
const SHARE_HANDLERS = { onShareAppMessage: 'message', onShareTimeline: 'timeline' };
/** `App()` lifecycles; `onX` reports core input `appX` (after it ran). */
const APP_LIFECYCLES = ['onLaunch', 'onShow', 'onHide'];
const MARK = '__maidian';

function isObject(x) {
  return x !== null && typeof x === 'object';
}

function isThenable(x) {
  return isObject(x) && typeof x.then === 'function';
}

/** No usable value: `null`, `undefined` or `''`. */
function blank(x) {
  return x == null || x === '';
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
 * Installs the hooks (a failure is reported, never thrown).
 * @param {object} input the client's raw inputs (../client.mjs)
 * @param {object} [api] the host API object (`wx`, `tt`, ...)
 * @returns {{rescanExposure: Function, lifecycle: object}} the hooks' part of the public `md`
 */
export function installHooks(input, api) {
  /** Per page/component instance: the query of its `onLoad` (a snapshot). */
  const queries = new WeakMap();
  /** The page/component instances whose first render is done (`onReady` / `ready`). */
  const rendered = new WeakSet();
  /** Per page/component instance: disconnects its live exposure observer. */
  const observers = new WeakMap();
  let appHooked = false;
  let launched = false;
  /** The warnings already given (each once per run). */
  const warned = new Set();

  function guard(where, fn) {
    try {
      return fn();
    } catch (err) {
      input.internal(where, err);
      return undefined;
    }
  }

  function warnOnce(message) {
    if (!warned.has(message)) console.warn(TAG, message);
    warned.add(message);
  }

  /**
   * The `init` option group `name` (`autoTrack`, `exposure`, `share`), `{}` when absent or
   * before `init`: every switch the hooks read is on until `init` says otherwise.
   */
  function option(name) {
    return Object(Object(input.options())[name]);
  }

  /**
   * `fn` (which may be absent) in a function that runs it with the same `this` and arguments
   * and returns what it returned (or throws what it threw); `before(this, firstArgument)` runs
   * before it, `after(this, firstArgument)` after it, each guarded under `where`.
   */
  function around(fn, where, before, after) {
    return function (...args) {
      if (before) guard(where, () => before(this, args[0]));
      try {
        return typeof fn === 'function' ? fn.apply(this, args) : undefined;
      } finally {
        if (after) guard(where, () => after(this, args[0]));
      }
    };
  }

  /** Reports app event `kind` (`appLaunch` / `appShow` / `appHide`) with the host's options. */
  function appEvent(kind, opts) {
    if (kind === 'appHide') {
      input.appHide();
      return;
    }
    const o = Object(opts);
    input[kind]({
      path: typeof o.path === 'string' ? o.path : undefined,
      query: snapshot(o.query) || {},
      scene: Number(o.scene) || undefined,
    });
  }

  function currentPage() {
    const pages = (typeof getCurrentPages === 'function' && getCurrentPages()) || [];
    return pages[pages.length - 1];
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
    const stop = observers.get(ctx);
    observers.delete(ctx);
    if (stop) stop();
  }

  function connectExposure(ctx) {
    if (
      option('autoTrack').exposure === false ||
      !isObject(ctx) ||
      typeof ctx.createIntersectionObserver !== 'function'
    ) {
      return;
    }
    disconnectExposure(ctx);
    const x = option('exposure');
    const cls = typeof x.className === 'string' && x.className ? x.className : 'md-expose';
    const maxNodes = x.maxNodes > 0 ? x.maxNodes : 200;
    const ratio = x.ratio > 0 && x.ratio <= 1 ? x.ratio : 0.5;
    const ob = ctx.createIntersectionObserver({
      observeAll: true,
      thresholds: ratio < 1 ? [0, ratio, 1] : [0, 1],
    });
    let on = true;
    observers.set(ctx, () => {
      on = false;
      try {
        ob.disconnect();
      } catch (_) {
        // Already gone with its page.
      }
    });
    const keys = new Set();
    ob.relativeToViewport().observe(`.${cls}`, (res) =>
      guard('exposure', () => {
        if (!on || !isObject(res)) return;
        const dataset = isObject(res.dataset) ? res.dataset : {};
        const raw = blank(dataset.mdKey) ? res.id : dataset.mdKey;
        if (blank(raw)) {
          warnOnce(`a "${cls}" element without data-md-key or id is not tracked`);
          return;
        }
        const key = String(raw);
        if (!keys.has(key)) {
          if (keys.size >= maxNodes) {
            warnOnce(
              `over ${maxNodes} "${cls}" elements in one page or component: the rest are ignored (exposure.maxNodes)`,
            );
            return;
          }
          keys.add(key);
        }
        input.exposure([
          { key, ratio: Number(res.intersectionRatio) || 0, dataset: snapshot(dataset) || {} },
        ]);
      }),
    );
  }

  /** Connects exposure if the instance is ready (its first render is done). */
  function reconnectExposure(ctx) {
    if (rendered.has(ctx)) connectExposure(ctx);
  }

  /** Re-observes after `setData` added nodes (lists); the core never counts an element twice. */
  function rescanExposure(ctx) {
    guard('rescanExposure', () => {
      const target = ctx || currentPage();
      if (target) reconnectExposure(target);
    });
  }

  function readyExposure(ctx) {
    rendered.add(ctx);
    connectExposure(ctx);
  }

  // -------------------------------------------------------------------------------- page events

  function pageShow(ctx) {
    input.pageShow({
      path: routeOf(ctx),
      query: queries.get(ctx) || snapshot(ctx.options) || {},
    });
    reconnectExposure(ctx);
  }

  function pageHide(ctx) {
    disconnectExposure(ctx);
    input.pageHide();
  }

  /** Page lifecycles and what each reports (after the app's function ran). */
  const PAGE_LIFECYCLES = {
    onLoad: (ctx, query) => queries.set(ctx, snapshot(query) || {}),
    onShow: pageShow,
    onReady: readyExposure,
    onHide: pageHide,
    onUnload: pageHide,
  };

  // -------------------------------------------------------------------------------- handlers

  /** A handler that reports taps BEFORE it runs (it usually navigates away). */
  function wrapHandler(user, name) {
    return wrapOnce(user, () =>
      // Every tap goes to the core, which drops it when `autoTrack.click` is off.
      around(user, 'tap', (_, e) => {
        const t = isObject(e) && e.currentTarget;
        if (!isObject(t) || !TAP.test(e.type)) return;
        input.tap({
          kind: e.type,
          elementId: typeof t.id === 'string' && t.id ? t.id : undefined,
          handler: name,
          dataset: snapshot(t.dataset) || {},
        });
      }),
    );
  }

  function wrapShare(user, method) {
    const timeline = method === 'timeline';
    return wrapOnce(
      user,
      () =>
        function (...args) {
          const result = user.apply(this, args);
          const out = guard('share', () => {
            const route = `/${routeOf(this)}`;
            /** The path shared, as the host will open it (the page's own when the payload has none). */
            const pathOf = (payload) => {
              const given = timeline ? payload.query : payload.path;
              if (typeof given !== 'string' || !given) return route;
              return timeline ? `${route}?${given}` : given;
            };
            const opts = args[0];
            input.share({
              method,
              from: isObject(opts) ? opts.from : undefined,
              path: pathOf(isObject(result) && !isThenable(result) ? result : {}),
            });
            if (!option('share').augment) return result;
            /** The payload with the share chain (`share.augment`); a new object. */
            const aug = (payload) => {
              if (!isObject(payload)) return payload;
              const copy = Object.assign({}, payload);
              const full = input.sharePath(pathOf(copy), method);
              const q = full.indexOf('?');
              if (!timeline) copy.path = full;
              else copy.query = q < 0 ? '' : full.slice(q + 1);
              return copy;
            };
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
    const originals = APP_LIFECYCLES.map((name) => options[name]);
    const hooked = APP_LIFECYCLES.every((name) =>
      replace(
        options,
        name,
        around(options[name], `App.${name}`, 0, (_, opts) => {
          if (name === 'onLaunch') launched = true;
          appEvent(`app${name.slice(2)}`, opts);
        }),
      ),
    );
    if (hooked) appHooked = true;
    // Put back whatever we managed to change; the onAppShow/onAppHide fallback reports them.
    else for (const [i, name] of APP_LIFECYCLES.entries()) replace(options, name, originals[i]);
  }

  /** `wx.onAppShow` / `wx.onAppHide`: used only when `App()` could not be hooked. */
  function listenAppEvents() {
    const listen = (name, report) => {
      if (api && typeof api[name] === 'function') {
        api[name]((opts) => guard(name, () => appHooked || report(opts)));
      }
    };
    listen('onAppShow', (opts) => {
      if (!launched) {
        launched = true;
        appEvent('appLaunch', call(api, 'getLaunchOptionsSync'));
      }
      appEvent('appShow', opts);
    });
    listen('onAppHide', () => input.appHide());
  }

  // -------------------------------------------------------------------------------- Page

  function hookPageOptions(options, methods) {
    // `methods` is where handlers live: the options object itself for Page(), `methods` for a
    // Component() used as a page (there the lifecycles act only when `this` is a page).
    const forPage = methods === options;
    for (const name of Object.keys(PAGE_LIFECYCLES)) {
      replace(
        methods,
        name,
        around(methods[name], name, 0, (ctx, arg) => {
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
      if (PAGE_CALLBACK.test(name)) continue;
      const fn = invokers ? Object.getOwnPropertyDescriptor(obj, name).value : obj[name];
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
    if (option('autoTrack').click === false || !isObject(ctx)) return;
    wrapHandlers(ctx, true);
    const setData = ctx.setData;
    if (typeof setData !== 'function' || !isObject(ctx.$vm)) return;
    // Once per instance: an instance's own wrapper is marked, `wrapOnce` leaves it as it is.
    replace(
      ctx,
      'setData',
      wrapOnce(setData, () => around(setData, 'setData', 0, () => wrapHandlers(ctx, true))),
    );
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
    replace(holder, name, around(holder[name] || fallback, `Component.${name}`, 0, report));
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
    if (option('exposure').components === false || !hasObject(options, 'pageLifetimes')) return;
    const notPage = (fn) => (ctx) => {
      if (!isPage(ctx)) fn(ctx);
    };
    hookLifetime(lifetimes, 'ready', options.ready, notPage(readyExposure));
    hookLifetime(lifetimes, 'detached', options.detached, notPage(disconnectExposure));
    hookLifetime(options.pageLifetimes, 'show', undefined, notPage(reconnectExposure));
    hookLifetime(options.pageLifetimes, 'hide', undefined, notPage(disconnectExposure));
  }

  /** Explicit reporting, for frameworks whose lifecycle objects cannot be wrapped. */
  const explicit = (fn) => (arg) => guard('lifecycle', () => fn(arg));
  const lifecycle = {
    pageShow: explicit((page) => {
      const ctx = page || currentPage();
      if (!ctx) return;
      if (!queries.has(ctx)) queries.set(ctx, snapshot(ctx.options) || {});
      rendered.add(ctx);
      pageShow(ctx);
    }),
    pageHide: explicit((page) => pageHide(page || currentPage())),
  };
  for (const name of APP_LIFECYCLES) {
    const kind = `app${name.slice(2)}`;
    lifecycle[kind] = explicit((opts) => appEvent(kind, opts));
  }

  // -------------------------------------------------------------------------------- install

  /** The global constructor `original`, hooking the options object it is called with. */
  function wrapConstructor(original, hook, name) {
    return wrapOnce(original, () => around(original, name, (_, options) => hook(options)));
  }

  // Replaces the global constructors (once per realm, even if the package is loaded twice).
  guard('install', () => {
    // Assigning the globals is how every mini-program SDK hooks them: `App`/`Page`/`Component`
    // are plain writable globals of the app service realm.
    if (typeof App === 'function') App = wrapConstructor(App, hookApp, 'App');
    if (typeof Page === 'function') Page = wrapConstructor(Page, hookPage, 'Page');
    if (typeof Component === 'function') {
      Component = wrapConstructor(Component, hookComponent, 'Component');
    }
    listenAppEvents();
  });

  return {
    /** Re-observes exposure elements of a page or component after `setData` (default: current page). */
    rescanExposure,
    /** Explicit lifecycle reporting for frameworks whose lifecycle objects cannot be wrapped. */
    lifecycle,
  };
}
