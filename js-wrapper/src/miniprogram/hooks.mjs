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
 */

import { snapshot } from '../public-api.mjs';

/* global App, Page, Component, getCurrentPages */

const TAP_TYPES = ['tap', 'longpress', 'longtap'];
/** Page lifecycle and framework callbacks: never treated as tap handlers. */
const PAGE_CALLBACKS = [
  'onLoad',
  'onShow',
  'onReady',
  'onHide',
  'onUnload',
  'onRouteDone',
  'onPullDownRefresh',
  'onReachBottom',
  'onShareAppMessage',
  'onShareTimeline',
  'onAddToFavorites',
  'onPageScroll',
  'onResize',
  'onTabItemTap',
  'onSaveExitState',
];
const MARK = '__maidian';
export const DEFAULT_EXPOSURE_CLASS = 'md-expose';
export const DEFAULT_MAX_EXPOSURE_NODES = 200;

function isObject(x) {
  return x !== null && typeof x === 'object';
}

function isThenable(x) {
  return isObject(x) && typeof x.then === 'function';
}

/** A tap-like event object: `{type: 'tap'|'longpress'|'longtap', currentTarget: {...}}`. */
export function isTapEvent(e) {
  return isObject(e) && TAP_TYPES.indexOf(e.type) >= 0 && isObject(e.currentTarget);
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

/**
 * @param {object} deps
 * @param {object} deps.input the client's raw inputs (../client.mjs)
 * @param {object} deps.api the host API object (`wx`, `tt`, ...)
 */
export function createHooks({ input, api }) {
  /** Per page/component instance: `{ query, ready, observer }`. */
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
      s = { query: undefined, ready: false, observer: null, setData: false };
      instances.set(ctx, s);
    }
    return s;
  }

  function settings() {
    const o = input.options() || {};
    const at = o.autoTrack || {};
    const x = o.exposure || {};
    return {
      click: at.click !== false,
      exposure: at.exposure !== false,
      className:
        typeof x.className === 'string' && x.className ? x.className : DEFAULT_EXPOSURE_CLASS,
      maxNodes: x.maxNodes > 0 ? x.maxNodes : DEFAULT_MAX_EXPOSURE_NODES,
      ratio: x.ratio > 0 && x.ratio <= 1 ? x.ratio : 0.5,
      components: x.components !== false,
      augment: !!o.share?.augment,
    };
  }

  /** Runs the app's function, then `after` (guarded), returning what the app's returned. */
  function thenReport(user, self, args, where, after) {
    try {
      return typeof user === 'function' ? user.apply(self, args) : undefined;
    } finally {
      guard(where, after);
    }
  }

  function launchOptions(opts) {
    const o = isObject(opts) ? opts : {};
    return {
      path: typeof o.path === 'string' ? o.path : undefined,
      query: snapshot(o.query) || {},
      scene: typeof o.scene === 'number' ? o.scene : Number(o.scene) || undefined,
    };
  }

  function currentPage() {
    if (typeof getCurrentPages !== 'function') return undefined;
    const pages = getCurrentPages();
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
    if (!s?.observer) return;
    const live = s.observer;
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
    const ratio = cfg.ratio;
    const thresholds = [0, ratio, 1].filter((t, i, a) => a.indexOf(t) === i);
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

  /** Re-observes after `setData` added nodes (lists); the core never counts an element twice. */
  function rescanExposure(ctx) {
    guard('rescanExposure', () => {
      const target = ctx || currentPage();
      if (!target) return;
      const s = stateOf(target);
      if (s.ready) connectExposure(target);
    });
  }

  // -------------------------------------------------------------------------------- page events

  function pageLoad(ctx, query) {
    stateOf(ctx).query = snapshot(query) || {};
  }

  function pageShow(ctx) {
    const s = stateOf(ctx);
    const query = s.query || snapshot(ctx.options) || {};
    input.pageShow({ path: routeOf(ctx), query });
    if (s.ready) connectExposure(ctx);
  }

  function pageReady(ctx) {
    stateOf(ctx).ready = true;
    connectExposure(ctx);
  }

  function pageHide(ctx) {
    disconnectExposure(ctx);
    input.pageHide();
  }

  // -------------------------------------------------------------------------------- handlers

  function tapOf(e, handler) {
    const t = e.currentTarget;
    return {
      kind: e.type,
      elementId: typeof t.id === 'string' && t.id ? t.id : undefined,
      handler,
      dataset: snapshot(t.dataset) || {},
    };
  }

  function wrapHandler(user, name) {
    if (typeof user !== 'function' || user[MARK]) return user;
    const wrapped = function (...args) {
      const e = args[0];
      if (isTapEvent(e) && settings().click) guard('tap', () => input.tap(tapOf(e, name)));
      return user.apply(this, args);
    };
    wrapped[MARK] = true;
    return wrapped;
  }

  function shareInput(ctx, method, opts, payload) {
    const p = isObject(payload) ? payload : {};
    const route = routeOf(ctx);
    let path;
    if (method === 'timeline') {
      path = typeof p.query === 'string' && p.query ? `/${route}?${p.query}` : `/${route}`;
    } else {
      path = typeof p.path === 'string' && p.path ? p.path : `/${route}`;
    }
    return { method, from: isObject(opts) ? opts.from : undefined, path };
  }

  /** The payload with the share chain (only with `share.augment`); a new object. */
  function augment(ctx, method, payload) {
    if (!settings().augment || !isObject(payload)) return payload;
    const out = Object.assign({}, payload);
    if (method === 'timeline') {
      const route = routeOf(ctx);
      const full = input.sharePath(`/${route}${out.query ? `?${out.query}` : ''}`, method);
      const q = full.indexOf('?');
      out.query = q >= 0 ? full.slice(q + 1) : '';
    } else {
      out.path = input.sharePath(out.path || `/${routeOf(ctx)}`, method);
    }
    return out;
  }

  function wrapShare(user, method) {
    if (typeof user !== 'function' || user[MARK]) return user;
    const wrapped = function (...args) {
      const opts = args[0];
      const result = user.apply(this, args);
      const out = guard('share', () => {
        input.share(shareInput(this, method, opts, isThenable(result) ? undefined : result));
        if (!settings().augment) return result;
        if (isThenable(result)) return result.then((p) => augment(this, method, p));
        const sync = augment(this, method, result);
        if (isObject(sync) && isThenable(sync.promise)) {
          sync.promise = sync.promise.then((p) => augment(this, method, p));
        }
        return sync;
      });
      return out === undefined ? result : out;
    };
    wrapped[MARK] = true;
    return wrapped;
  }

  // -------------------------------------------------------------------------------- App

  function hookApp(options) {
    if (!isObject(options)) return;
    const onLaunch = options.onLaunch;
    const onShow = options.onShow;
    const onHide = options.onHide;
    const ok =
      replace(options, 'onLaunch', function (...args) {
        const opts = args[0];
        return thenReport(onLaunch, this, args, 'App.onLaunch', () => {
          launched = true;
          input.appLaunch(launchOptions(opts));
        });
      }) &&
      replace(options, 'onShow', function (...args) {
        return thenReport(onShow, this, args, 'App.onShow', () =>
          input.appShow(launchOptions(args[0])),
        );
      }) &&
      replace(options, 'onHide', function (...args) {
        return thenReport(onHide, this, args, 'App.onHide', () => input.appHide());
      });
    if (ok) {
      appHooked = true;
    } else {
      // Put back whatever we managed to change; the onAppShow/onAppHide fallback reports them.
      replace(options, 'onLaunch', onLaunch);
      replace(options, 'onShow', onShow);
      replace(options, 'onHide', onHide);
    }
  }

  /** `wx.onAppShow` / `wx.onAppHide`: used only when `App()` could not be hooked. */
  function listenAppEvents() {
    if (!api) return;
    const launchSync = () =>
      typeof api.getLaunchOptionsSync === 'function' ? api.getLaunchOptionsSync() : {};
    if (typeof api.onAppShow === 'function') {
      api.onAppShow((opts) =>
        guard('onAppShow', () => {
          if (appHooked) return;
          if (!launched) {
            launched = true;
            input.appLaunch(launchOptions(launchSync()));
          }
          input.appShow(launchOptions(opts));
        }),
      );
    }
    if (typeof api.onAppHide === 'function') {
      api.onAppHide(() =>
        guard('onAppHide', () => {
          if (!appHooked) input.appHide();
        }),
      );
    }
  }

  // -------------------------------------------------------------------------------- Page

  function hookPageOptions(options, methods) {
    // `methods` is where handlers live: the options object itself for Page(), `methods` for a
    // Component() used as a page.
    const onLoad = methods.onLoad;
    const onShow = methods.onShow;
    const onReady = methods.onReady;
    const onHide = methods.onHide;
    const onUnload = methods.onUnload;
    const forPage = methods === options;
    const when = (ctx, fn) => () => {
      if (forPage || isPage(ctx)) fn();
    };
    const lifecycleHook = (user, where, report) =>
      function (...args) {
        return thenReport(
          user,
          this,
          args,
          where,
          when(this, () => report(this, args[0])),
        );
      };
    replace(methods, 'onLoad', lifecycleHook(onLoad, 'onLoad', pageLoad));
    replace(methods, 'onShow', lifecycleHook(onShow, 'onShow', pageShow));
    replace(methods, 'onReady', lifecycleHook(onReady, 'onReady', pageReady));
    replace(methods, 'onHide', lifecycleHook(onHide, 'onHide', pageHide));
    replace(methods, 'onUnload', lifecycleHook(onUnload, 'onUnload', pageHide));
    if (typeof methods.onShareAppMessage === 'function') {
      replace(methods, 'onShareAppMessage', wrapShare(methods.onShareAppMessage, 'message'));
    }
    if (typeof methods.onShareTimeline === 'function') {
      replace(methods, 'onShareTimeline', wrapShare(methods.onShareTimeline, 'timeline'));
    }
  }

  /**
   * uni-app (Vue 3) puts a template's event handlers on the component INSTANCE while Vue renders
   * (`this.e0 = invoker`), not in `methods`, and re-renders patch `invoker.value` in place. Such
   * invokers (a function carrying its handler in `.value`) are wrapped after each render; the
   * wrapper forwards `.value` so the framework's patches still reach the original. Nothing else
   * on the instance is touched.
   */
  function wrapInvokers(ctx) {
    for (const name of Object.keys(ctx)) {
      if (PAGE_CALLBACKS.indexOf(name) >= 0) continue;
      const d = Object.getOwnPropertyDescriptor(ctx, name);
      const fn = d?.value;
      if (typeof fn !== 'function' || fn[MARK] || typeof fn.value !== 'function') continue;
      const wrapped = wrapHandler(fn, name);
      Object.defineProperty(wrapped, 'value', {
        get: () => fn.value,
        set: (v) => {
          fn.value = v;
        },
        configurable: true,
      });
      replace(ctx, name, wrapped);
    }
  }

  /**
   * After `attached` (first render): wraps the invokers now, and — only on instances that carry a
   * Vue instance (`$vm`, set by uni-app in `attached`) — after every `setData`, so a native
   * component's `setData` is never touched.
   */
  function watchInvokers(ctx) {
    if (!settings().click || !isObject(ctx)) return;
    wrapInvokers(ctx);
    const s = stateOf(ctx);
    const setData = ctx.setData;
    if (s.setData || typeof setData !== 'function' || !isObject(ctx.$vm)) return;
    s.setData = replace(ctx, 'setData', function (...args) {
      try {
        return setData.apply(this, args);
      } finally {
        guard('setData', () => wrapInvokers(ctx));
      }
    });
  }

  function wrapHandlers(obj) {
    for (const name of Object.keys(obj)) {
      if (PAGE_CALLBACKS.indexOf(name) >= 0) continue;
      const fn = obj[name];
      if (typeof fn === 'function' && !fn[MARK]) replace(obj, name, wrapHandler(fn, name));
    }
  }

  function hookPage(options) {
    if (!isObject(options)) return;
    hookPageOptions(options, options);
    wrapHandlers(options);
  }

  // -------------------------------------------------------------------------------- Component

  function hookLifetime(holder, name, fallback, report) {
    const user = holder[name] || fallback;
    replace(holder, name, function (...args) {
      return thenReport(user, this, args, `Component.${name}`, () => report(this));
    });
  }

  function hookComponent(options) {
    if (!isObject(options)) return;
    if (!isObject(options.methods)) {
      if (!replace(options, 'methods', {})) return;
    }
    const methods = options.methods;
    hookPageOptions(options, methods);
    wrapHandlers(methods);
    if (isObject(options.lifetimes) || replace(options, 'lifetimes', {})) {
      hookLifetime(options.lifetimes, 'attached', options.attached, watchInvokers);
    }
    // Exposure inside the component's own tree (a page's observer cannot see into it).
    if (!settings().components) return;
    if (!isObject(options.lifetimes) && !replace(options, 'lifetimes', {})) return;
    if (!isObject(options.pageLifetimes) && !replace(options, 'pageLifetimes', {})) return;
    const notPage = (fn) => (ctx) => {
      if (!isPage(ctx)) fn(ctx);
    };
    hookLifetime(
      options.lifetimes,
      'ready',
      options.ready,
      notPage((ctx) => {
        stateOf(ctx).ready = true;
        connectExposure(ctx);
      }),
    );
    hookLifetime(options.lifetimes, 'detached', options.detached, notPage(disconnectExposure));
    hookLifetime(
      options.pageLifetimes,
      'show',
      undefined,
      notPage((ctx) => {
        if (stateOf(ctx).ready) connectExposure(ctx);
      }),
    );
    hookLifetime(options.pageLifetimes, 'hide', undefined, notPage(disconnectExposure));
  }

  // -------------------------------------------------------------------------------- install

  function wrapConstructor(original, hook, name) {
    if (typeof original !== 'function' || original[MARK]) return original;
    const wrapped = function (...args) {
      guard(name, () => hook(args[0]));
      return original.apply(this, args);
    };
    wrapped[MARK] = true;
    return wrapped;
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
  const lifecycle = {
    appLaunch: (opts) => guard('lifecycle', () => input.appLaunch(launchOptions(opts))),
    appShow: (opts) => guard('lifecycle', () => input.appShow(launchOptions(opts))),
    appHide: () => guard('lifecycle', () => input.appHide()),
    pageShow: (page) =>
      guard('lifecycle', () => {
        const ctx = page || currentPage();
        if (!ctx) return;
        const s = stateOf(ctx);
        if (!s.query) s.query = snapshot(ctx.options) || {};
        s.ready = true;
        pageShow(ctx);
      }),
    pageHide: (page) => guard('lifecycle', () => pageHide(page || currentPage())),
  };

  return {
    install,
    rescanExposure,
    lifecycle,
    hookApp,
    hookPage,
    hookComponent,
    wrapHandler,
    wrapShare,
  };
}
