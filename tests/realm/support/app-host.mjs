/**
 * A simulated WeChat app host around ./../realm.mjs: fakes for `App`, `Page`, `Component`,
 * `getCurrentPages` and a `wx` with synchronous storage (per-key size limit, shared across
 * "relaunches"), `request` doing REAL HTTP from the outer realm (or a test handler),
 * `getRandomValues`, system info, network, `onAppShow`/`onAppHide`, and intersection observers
 * the test drives (`host.expose(page, key, ratio)`).
 *
 * The app's code runs inside the realm: `host.run(js)` evaluates a file's source (App/Page/
 * Component calls) with `require` resolving `maidian` to the mounted package.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import { createMiniProgramRealm } from '../realm.mjs';

/** Storage that survives relaunches: pass the same instance to every `createAppHost`. */
export function createStorage({ perKeyLimit = 1024 * 1024 } = {}) {
  return { map: new Map(), perKeyLimit, writes: [] };
}

/** Node's own setTimeout, kept even if a test replaces the global one. */
const nodeSetTimeout = globalThis.setTimeout;

/** Waits until `cond()` is truthy, polling; fails after `ms` with `what`. */
export async function waitFor(cond, what, ms = 5000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => nodeSetTimeout(r, 5));
  }
}

function realHttp({ url, method, data, header, timeout }, callbacks) {
  const body = Buffer.from(data);
  const req = http.request(url, {
    method,
    headers: { ...header, 'Content-Length': body.length },
    timeout,
  });
  req.on('response', (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () =>
      callbacks.success({
        statusCode: res.statusCode,
        header: res.headers,
        data: Buffer.concat(chunks).toString(),
      }),
    );
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (err) => callbacks.fail({ errMsg: `request:fail ${err.message}` }));
  req.end(body);
}

/** `/pages/a/b?x=1&y=2` -> `['pages/a/b', {x: '1', y: '2'}]` (values decoded, as WeChat does). */
export function parseUrl(url) {
  const [route, qs = ''] = url.replace(/^\/+/, '').split('?');
  const query = {};
  for (const pair of qs.split('&')) {
    if (!pair) continue;
    const [k, v = ''] = pair.split('=');
    query[decodeURIComponent(k)] = decodeURIComponent(v);
  }
  return [route, query];
}

/**
 * @param {object} o
 * @param {Record<string,string>} o.mounts realm mounts (`miniprogram_npm/maidian` -> dir)
 * @param {ReturnType<typeof createStorage>} [o.storage]
 * @param {(req, callbacks) => void} [o.request] default: real HTTP
 * @param {string} [o.engine] engine global name for the realm
 * @param {object} [o.wxOverrides] replace/remove parts of `wx` (undefined removes)
 * @param {{offsetMs: number}} [o.clock] device clock: the realm's `Date.now()` is Node's plus
 *   `clock.offsetMs` (read at each call, so a test moves device time by changing it; share one
 *   object between the runs of one device)
 */
export function createAppHost({
  mounts,
  storage = createStorage(),
  request = realHttp,
  engine,
  wxOverrides = {},
  console: consoleOverride,
  clock = null,
}) {
  const requests = [];
  const appShowListeners = [];
  const appHideListeners = [];
  const networkListeners = [];
  const pages = [];
  const pageDefs = new Map();
  const componentDefs = [];
  let app = null;
  let currentRoute = null;
  const observers = [];
  const errors = [];
  /** After `kill()` nothing of this app instance runs or writes any more (process gone). */
  let killed = false;

  const wx = {
    setStorageSync(key, value) {
      if (killed) return;
      const size = typeof value === 'string' ? value.length : JSON.stringify(value).length;
      if (size > storage.perKeyLimit)
        throw new Error(`setStorageSync:fail exceed max size per key (${size})`);
      storage.map.set(key, value);
      storage.writes.push(key);
    },
    getStorageSync: (key) => (storage.map.has(key) ? storage.map.get(key) : ''),
    removeStorageSync: (key) => {
      if (!killed) storage.map.delete(key);
    },
    getStorageInfoSync: () => ({ keys: [...storage.map.keys()], currentSize: 0, limitSize: 10240 }),
    request(opts) {
      const entry = {
        url: opts.url,
        header: opts.header,
        data: opts.data,
        timeout: opts.timeout,
        method: opts.method,
      };
      requests.push(entry);
      if (host.network === 'none') {
        // No connectivity: WeChat fails the request (no status code) without touching the wire.
        setTimeout(() => {
          entry.status = 0;
          if (killed) return;
          opts.fail?.({ errMsg: 'request:fail offline' });
          opts.complete?.({ errMsg: 'request:fail offline' });
        }, 0);
        return { abort() {} };
      }
      request(opts, {
        success: (res) => {
          entry.status = res.statusCode;
          if (killed) return;
          opts.success?.(res);
          opts.complete?.(res);
        },
        fail: (res) => {
          entry.status = 0;
          if (killed) return;
          opts.fail?.(res);
          opts.complete?.(res);
        },
      });
      return { abort() {} };
    },
    getRandomValues({ length, success }) {
      setTimeout(() => success({ randomValues: crypto.randomBytes(length).buffer }), 0);
    },
    getDeviceInfo: () => ({
      brand: 'devtools',
      model: 'iPhone 15',
      system: 'iOS 17.4.1',
      platform: 'devtools',
    }),
    getWindowInfo: () => ({ screenWidth: 390, screenHeight: 844, pixelRatio: 3 }),
    getAppBaseInfo: () => ({ SDKVersion: '3.6.4', version: '8.0.50', language: 'zh_CN' }),
    getAccountInfoSync: () => ({
      miniProgram: { appId: 'wx0123456789abcdef', envVersion: 'develop', version: '' },
    }),
    getNetworkType: ({ success }) => setTimeout(() => success({ networkType: host.network }), 0),
    onNetworkStatusChange: (cb) => networkListeners.push(cb),
    onAppShow: (cb) => appShowListeners.push(cb),
    onAppHide: (cb) => appHideListeners.push(cb),
    getLaunchOptionsSync: () => host.launchOptions,
    // Routing, synchronous here (WeChat switches pages after the handler returns).
    navigateTo: ({ url }) => host.open(...parseUrl(url)),
    redirectTo: ({ url }) => {
      host.unloadTop();
      host.open(...parseUrl(url));
    },
    reLaunch: ({ url }) => {
      while (pages.length) host.unloadTop();
      host.open(...parseUrl(url));
    },
    navigateBack: () => host.back(),
    showToast: () => {},
  };
  for (const [k, v] of Object.entries(wxOverrides)) {
    if (v === undefined) delete wx[k];
    else wx[k] = v;
  }

  function makeObserverFactory(owner) {
    return (options = {}) => {
      const ob = {
        owner,
        options,
        selector: null,
        callback: null,
        connected: true,
        relativeToViewport() {
          return ob;
        },
        observe(selector, cb) {
          ob.selector = selector;
          ob.callback = cb;
        },
        disconnect() {
          ob.connected = false;
        },
      };
      observers.push(ob);
      return ob;
    };
  }

  function instantiate(def, route, query) {
    const inst = { route, options: query, data: { ...(def.options.data || {}) } };
    inst.setData = (d, cb) => {
      Object.assign(inst.data, d);
      if (cb) cb();
    };
    inst.createIntersectionObserver = makeObserverFactory(inst);
    if (def.kind === 'page') {
      for (const [k, v] of Object.entries(def.options)) if (typeof v === 'function') inst[k] = v;
    } else {
      for (const [k, v] of Object.entries(def.options.methods || {})) inst[k] = v;
      // A component instance also has its properties (declared defaults) and triggerEvent
      // (recorded: nothing listens to a page component's events).
      inst.properties = {};
      for (const [k, v] of Object.entries(def.options.properties || {})) {
        inst.properties[k] = v && typeof v === 'object' && 'value' in v ? v.value : null;
      }
      inst.triggered = [];
      inst.triggerEvent = (name, detail) => inst.triggered.push([name, detail]);
    }
    return inst;
  }

  function lifecycle(inst, def, name, ...args) {
    const fn = def.kind === 'page' ? def.options[name] : def.options.methods?.[name];
    return fn ? fn.apply(inst, args) : undefined;
  }

  const globals = {
    // Timers the SDK leaves armed (flush interval, retry) must not keep the test process alive.
    setTimeout: (fn, ms, ...args) => {
      const t = setTimeout(() => killed || fn(...args), ms);
      t.unref();
      return t;
    },
    ...(consoleOverride ? { console: consoleOverride } : {}),
    wx,
    App(options) {
      app = options;
    },
    getApp: () => app,
    Page(options) {
      pageDefs.set(currentRoute, { kind: 'page', options });
    },
    Component(options) {
      if (currentRoute) pageDefs.set(currentRoute, { kind: 'component', options });
      else componentDefs.push(options);
    },
    getCurrentPages: () => pages.map((p) => p.inst),
  };
  const realm = createMiniProgramRealm({ mounts, globals, ...(engine ? { engine } : {}) });
  if (clock) {
    realm.context.__hostNow = () => Date.now() + clock.offsetMs;
    realm.run('Date.now = ((n) => () => n())(globalThis.__hostNow); delete globalThis.__hostNow;');
  }

  const host = {
    realm,
    wx,
    storage,
    requests,
    observers,
    errors,
    networkListeners,
    launchOptions: { path: 'pages/home/home', query: {}, scene: 1001 },
    /** `wx.getNetworkType` answer; `'none'` makes every `wx.request` fail (status 0). */
    network: 'wifi',
    get app() {
      return app;
    },
    get pages() {
      return pages;
    },
    get componentDefs() {
      return componentDefs;
    },
    /** Evaluates app code in the realm; `route` marks a page file. */
    run(code, route = null) {
      currentRoute = route;
      try {
        realm.run(`(function (require) {\n${code}\n})`)((s) => realm.require(s));
      } finally {
        currentRoute = null;
      }
    },
    require: (s) => realm.require(s),
    /** Loads a project file as a module (relative requires resolve from its directory). */
    load(projectPath, route = null) {
      currentRoute = route;
      try {
        return realm.require(`/${projectPath}`);
      } finally {
        currentRoute = null;
      }
    },
    /** The current page is unloaded (redirectTo / reLaunch): onUnload, nothing shown after. */
    unloadTop() {
      const top = pages.pop();
      if (top) lifecycle(top.inst, top.def, 'onUnload');
    },
    /** The app is killed: no callback, timer or storage write of this instance happens again. */
    kill() {
      killed = true;
    },
    /** Cold start: App.onLaunch then App.onShow (and the onAppShow listeners), as WeChat does. */
    launch(opts = host.launchOptions) {
      host.launchOptions = opts;
      app.onLaunch?.call(app, opts);
      app.onShow?.call(app, opts);
      for (const cb of appShowListeners) cb(opts);
    },
    hideApp() {
      const top = pages[pages.length - 1];
      if (top) lifecycle(top.inst, top.def, 'onHide');
      app.onHide?.call(app);
      for (const cb of appHideListeners) cb();
    },
    showApp(opts = host.launchOptions) {
      app.onShow?.call(app, opts);
      for (const cb of appShowListeners) cb(opts);
      const top = pages[pages.length - 1];
      if (top) lifecycle(top.inst, top.def, 'onShow');
    },
    /** navigateTo: hides the current page, loads/shows/readies the new one. */
    open(route, query = {}) {
      const def = pageDefs.get(route);
      if (!def) throw new Error(`no page ${route}`);
      const top = pages[pages.length - 1];
      if (top) lifecycle(top.inst, top.def, 'onHide');
      const inst = instantiate(def, route, query);
      pages.push({ inst, def });
      if (def.kind === 'component') {
        (def.options.lifetimes?.created || def.options.created)?.call(inst);
        (def.options.lifetimes?.attached || def.options.attached)?.call(inst);
      }
      lifecycle(inst, def, 'onLoad', query);
      lifecycle(inst, def, 'onShow');
      lifecycle(inst, def, 'onReady');
      if (def.kind === 'component') def.options.lifetimes?.ready?.call(inst);
      return inst;
    },
    /** navigateBack: unloads the top page and shows the one below. */
    back() {
      const top = pages.pop();
      lifecycle(top.inst, top.def, 'onUnload');
      const under = pages[pages.length - 1];
      if (under) lifecycle(under.inst, under.def, 'onShow');
    },
    /**
     * A custom component rendered in `parent`'s template (`Component(options)` loaded from a
     * file that is not a page): created, attached, ready, as WeChat does on the first render.
     * `properties` are what the template passes; `events` maps the names the component
     * `triggerEvent`s to the parent's handlers (`bind:name="handler"`).
     */
    mountComponent(parent, options, { is = 'components/c', properties = {}, events = {} } = {}) {
      const def = { kind: 'component', options };
      const inst = instantiate(def, undefined, {});
      delete inst.route;
      delete inst.options;
      inst.is = is;
      Object.assign(inst.properties, properties);
      inst.triggerEvent = (name, detail) => {
        inst.triggered.push([name, detail]);
        const handler = events[name];
        if (handler) {
          const target = { id: '', dataset: {} };
          parent[handler]({ type: name, detail, currentTarget: target, target });
        }
      };
      (options.lifetimes?.created || options.created)?.call(inst);
      (options.lifetimes?.attached || options.attached)?.call(inst);
      (options.lifetimes?.ready || options.ready)?.call(inst);
      return inst;
    },
    /** Calls a page handler with a tap-like event. */
    tap(inst, method, { id = '', dataset = {}, type = 'tap' } = {}) {
      return inst[method]({
        type,
        currentTarget: { id, dataset },
        target: { id, dataset },
        detail: {},
      });
    },
    /** Drives every connected observer of `owner` whose selector matches `className`. */
    expose(owner, { className = 'md-expose', id = '', dataset = {}, ratio = 1 }) {
      let n = 0;
      for (const ob of observers) {
        if (ob.owner !== owner || !ob.connected || ob.selector !== `.${className}`) continue;
        ob.callback({ id, dataset, intersectionRatio: ratio, time: Date.now() });
        n += 1;
      }
      return n;
    },
    share(inst, method = 'onShareAppMessage', opts = { from: 'menu' }) {
      return inst[method](opts);
    },
    setNetwork(kind) {
      host.network = kind;
      for (const cb of networkListeners) cb({ isConnected: kind !== 'none', networkType: kind });
    },
  };
  return host;
}
