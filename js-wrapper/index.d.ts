/**
 * maidian — event tracking for mini-programs (WeChat, ByteDance, QQ, Baidu), the web and Node.
 * The same API on every target:
 *
 * ```js
 * const md = require('maidian'); // mini-program: installs the App/Page/Component hooks
 * md.init({ serverUrl: 'https://t.example.com', writeKey: 'wk', consent: 'pending' });
 * md.track('add_to_cart', { sku: 'SKU-42', price: 59.9 });
 * ```
 *
 * No method throws into the app. Calls made before the SDK is ready are applied, in order and
 * with their original times, once it is. If the SDK cannot start (no wasm engine, wasm file
 * not found, no cryptographic random source) it logs one console error and ignores every call.
 */

/** A JSON object of event properties, traits or super properties. */
export type Properties = { [key: string]: JsonValue };
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };

export interface AutoTrackOptions {
  /** `$app_launch`, `$app_show`, `$app_hide` at once. Default true. */
  app?: boolean;
  /** `$app_launch` alone (overrides `app`). */
  appLaunch?: boolean;
  /** `$app_show` alone (overrides `app`). */
  appShow?: boolean;
  /** `$app_hide` alone (overrides `app`). */
  appHide?: boolean;
  /** `page` messages on page show. Default true. */
  pageView?: boolean;
  /** `$page_leave` with the time on page. Default true. */
  pageLeave?: boolean;
  /** `$click` from tap / longpress / longtap handlers (web: document clicks, see `web.clicks`). Default true. */
  click?: boolean;
  /** `$exposure` from intersection observers over `exposure.className` (web too). Default true. */
  exposure?: boolean;
  /** `$share` from `onShareAppMessage` / `onShareTimeline`. Default true. */
  share?: boolean;
}

export interface BatchOptions {
  /** Send when this many events wait. Default 50. */
  size?: number;
  /** Send when the oldest waiting event is this old (ms). Default 10000. */
  intervalMs?: number;
  /** Most events per request. Default 100. */
  maxEvents?: number;
  /** gzip request bodies. Default true. */
  gzip?: boolean;
  /** A request without an answer after this long counts as failed (ms). Default 60000. */
  timeoutMs?: number;
}

export interface ExposureOptions {
  /** Class of the elements to observe. Default `md-expose`. Key: `data-md-key`, else the id. */
  className?: string;
  /** Visible ratio that counts as exposed. Default 0.5. */
  ratio?: number;
  /** How long it must stay visible (ms). Default 500. */
  dwellMs?: number;
  /** `page_view` (default), `session` or `always`. */
  frequency?: 'page_view' | 'session' | 'always';
  /** Mini-program: most distinct elements per page or component observer. Default 200. */
  maxNodes?: number;
  /** Mini-program: observe inside custom components too (one observer per instance). Default true. */
  components?: boolean;
}

/** Browser only (the Rust browser host, sdk-wasm/src/web; see docs/WEB.md). */
export interface WebOptions {
  /**
   * Which clicks become `$click`: `auto` (default) — elements with a `data-md-*` attribute, and
   * buttons and links; `opt-in` — only elements with a `data-md-*` attribute; `off` — none.
   * `data-md-ignore` opts an element and its subtree out; `data-md-click="name"` names the click.
   */
  clicks?: 'auto' | 'opt-in' | 'off';
  /** Page views on `history.pushState` / `replaceState` / `popstate` (SPA routes). Default true. */
  history?: boolean;
}

/** Storage for Node (browsers use `localStorage`, mini-programs their synchronous storage). */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
  keys(): string[];
}

export interface InitOptions {
  /** Collector base URL; events go to `{serverUrl}/v1/batch`. */
  serverUrl: string;
  /** The project's write key. */
  writeKey: string;
  /** `pending`: nothing is stored or sent until `consent.grant()`. Default `granted`. */
  consent?: 'granted' | 'pending';
  autoTrack?: AutoTrackOptions;
  batch?: BatchOptions;
  exposure?: ExposureOptions;
  /** Browser only: click and history settings of the browser host. */
  web?: WebOptions;
  /** Add the share chain to share payloads (`md_sharer`, `md_depth`, `md_method`). Default off. */
  share?: { augment?: boolean };
  /** `data-*` keys (dataset spelling, e.g. `goodsId`) copied into `$click` / `$exposure`. */
  datasetAllow?: string[];
  /** Mini-program: package path of the `.wasm.br`. Default `/miniprogram_npm/maidian/maidian_sdk_bg.wasm.br`. Web: URL of the `.wasm`. */
  wasmPath?: string;
  /** Mini-program: the path-only wasm engine to use (default: `WXWebAssembly` / `TTWebAssembly` / QQ's). */
  engine?: { instantiate(path: string, imports: object): Promise<unknown> };
  /** Node: where to keep the queue (default: memory). */
  storage?: StorageLike;
  /** Storage key prefix. Default `md_`. */
  storagePrefix?: string;
  /** Log every event (and, in debug builds, its validation) to the console. */
  debug?: boolean;
  /** Any other core setting (sdk-wasm/src/core/config.rs, camelCase), e.g. `{ sampling: { $exposure: 0.1 } }`. */
  core?: Record<string, unknown>;
}

/** The raw inputs, for frameworks whose lifecycle objects cannot be wrapped (see docs/WRAPPER.md). */
export interface Lifecycle {
  appLaunch(options?: { path?: string; query?: Record<string, string>; scene?: number }): void;
  appShow(options?: { path?: string; query?: Record<string, string>; scene?: number }): void;
  appHide(): void;
  /** Reports the page (default: the current page) as shown and starts its exposure observer. */
  pageShow(page?: object): void;
  pageHide(page?: object): void;
}

export interface Inspection {
  consent: 'pending' | 'granted' | 'denied';
  anonymousId?: string;
  userId?: string;
  sessionId?: string;
  stats: Record<string, number>;
}

export interface Maidian {
  init(options: InitOptions): void;
  /** A code-tracked event; `$`-prefixed names are reserved and refused. */
  track(event: string, properties?: Properties): void;
  /** Sets the user id (when given) and sends an `identify` with `traits`. */
  identify(userId?: string | null, traits?: Properties): void;
  /** Super properties added to every later event (persisted). */
  register(properties: Properties): void;
  unregister(key: string): void;
  consent: {
    /** Creates the ids, replays what waited (original timestamps), starts sending. */
    grant(): void;
    /** Drops what waited, purges every stored SDK key, stops tracking. */
    deny(): void;
  };
  /** Send what waits now (as the retry backoff allows). */
  flush(): void;
  /** Logout: forgets the user id and super properties; new anonymous id and session. */
  reset(): void;
  /** Resolves true once the core runs, false if the SDK is disabled. Never rejects. */
  ready(): Promise<boolean>;
  status(): 'idle' | 'loading' | 'ready' | 'disabled';
  inspect(): Inspection | null;
}

export interface MiniProgramMaidian extends Maidian {
  /** Re-observe exposure elements after `setData` (default: the current page). */
  rescanExposure(pageOrComponent?: object): void;
  lifecycle: Lifecycle;
  platform: 'wechat' | 'qq' | 'bytedance' | 'baidu' | 'alipay' | 'unknown';
}

declare const md: MiniProgramMaidian;
export default md;
export const init: Maidian['init'];
export const track: Maidian['track'];
export const identify: Maidian['identify'];
export const register: Maidian['register'];
export const unregister: Maidian['unregister'];
export const consent: Maidian['consent'];
export const flush: Maidian['flush'];
export const reset: Maidian['reset'];
export const ready: Maidian['ready'];
export const status: Maidian['status'];
export const inspect: Maidian['inspect'];
/** Mini-program only (undefined elsewhere). */
export const rescanExposure: MiniProgramMaidian['rescanExposure'];
/** Mini-program only (undefined elsewhere). */
export const lifecycle: Lifecycle;
