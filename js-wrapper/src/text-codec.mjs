/**
 * The UTF-8 `TextEncoder` / `TextDecoder` the wasm-bindgen glue needs, for hosts that have
 * neither (WeChat and ByteDance mini-programs). The mini-program build injects these classes
 * into the glue's module scope with esbuild `--inject`, so no global is read or written.
 *
 * They are built on the engine's own UTF-8 code: `encodeURIComponent` / `decodeURIComponent`
 * percent-encode and decode UTF-8, and Annex B `unescape` / `escape` map between percent
 * escapes and one-byte characters (every mini-program engine — JavaScriptCore, V8, QuickJS —
 * has all four). That is ≈ 1 KB less shipped JS than a hand-written codec (mini-program
 * packages count JS uncompressed), and the loops run in native code.
 *
 * Only what the glue uses is implemented, with the Encoding Standard's results:
 * - `encode(string)`: UTF-8 bytes; lone surrogates become U+FFFD (as `TextEncoder` does). The
 *   glue's own `encodeInto` fallback calls it.
 * - `decode(bytes)`: the string. The glue decodes only strings Rust produced, which are valid
 *   UTF-8 by construction; invalid input throws a `URIError` here (as a `fatal` decoder would
 *   throw) instead of being repaired. A BOM is kept (the glue asks for `ignoreBOM: true`).
 * Both are fuzz-tested against Node's codec (js-wrapper/test/text-codec.test.mjs).
 */

const CHUNK = 0x2000; // bytes per String.fromCharCode.apply call (argument-count limits)

/** Whether the UTF-16 code unit at `i` of `s` is in [lo, lo + 0x3ff] (a surrogate half). */
const half = (s, i, lo) => (s.charCodeAt(i) & 0xfc00) === lo;

export class TextEncoder {
  /** @param {string} [input] @returns {Uint8Array} */
  encode(input = '') {
    let s = String(input);
    let bytes;
    try {
      bytes = unescape(encodeURIComponent(s));
    } catch {
      // A lone surrogate (encodeURIComponent throws a URIError): replace each, then encode.
      s = s.replace(/[\ud800-\udfff]/g, (c, i) =>
        half(s, i, 0xd800)
          ? half(s, i + 1, 0xdc00)
            ? c
            : '\ufffd'
          : half(s, i - 1, 0xd800)
            ? c
            : '\ufffd',
      );
      bytes = unescape(encodeURIComponent(s));
    }
    const out = new Uint8Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) out[i] = bytes.charCodeAt(i);
    return out;
  }
}

export class TextDecoder {
  /** @param {Uint8Array} [bytes] @returns {string} */
  decode(bytes) {
    let escaped = '';
    for (let i = 0; bytes && i < bytes.length; i += CHUNK) {
      escaped += escape(String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK)));
    }
    return decodeURIComponent(escaped);
  }
}
