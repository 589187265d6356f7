/**
 * A small UTF-8 `TextEncoder` / `TextDecoder` for hosts that have neither (WeChat and ByteDance
 * mini-programs). The mini-program build injects these classes into the wasm-bindgen glue's
 * module scope with esbuild `--inject`, so no global is read or written.
 *
 * Behaviour follows the WHATWG Encoding Standard for UTF-8 and is fuzz-tested against Node's
 * codec (js-wrapper/test/text-codec.test.mjs):
 * - encoding replaces lone surrogates with U+FFFD;
 * - decoding replaces each maximal invalid subsequence with U+FFFD (or throws a TypeError when
 *   `fatal` is set) and drops a leading BOM unless `ignoreBOM` is set.
 * Streaming decode (`{ stream: true }`) is not supported and throws.
 *
 * Every shipped byte counts (mini-program packages ship JS uncompressed), so the code is
 * written compact: one encoding loop (`encode` is `encodeInto` a worst-case buffer) and the
 * decoder's state is the number of continuation bytes still `needed` plus their allowed range.
 */

const CHUNK = 0x2000; // code units per String.fromCharCode.apply call

export class TextEncoder {
  get encoding() {
    return 'utf-8';
  }

  /** @param {string} [input] @returns {Uint8Array} */
  encode(input = '') {
    const str = String(input);
    // Worst case 3 bytes per UTF-16 code unit (a surrogate pair is 2 units -> 4 bytes).
    const out = new Uint8Array(str.length * 3);
    return out.slice(0, this.encodeInto(str, out).written);
  }

  /**
   * Encodes as many whole code points of `input` as fit into `dest`.
   * @param {string} input @param {Uint8Array} dest
   * @returns {{read: number, written: number}} UTF-16 units read, bytes written
   */
  encodeInto(input, dest) {
    const str = String(input);
    let read = 0;
    let written = 0;
    while (read < str.length) {
      // A whole pair gives its code point; a lone surrogate its own unit, replaced by U+FFFD.
      let cp = str.codePointAt(read);
      if (cp >= 0xd800 && cp < 0xe000) cp = 0xfffd;
      const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      if (written + n > dest.length) break;
      // Lead byte: marker 0x00 / 0xc0 / 0xe0 / 0xf0 (byte n-1 of the constant) + the top bits.
      dest[written] = ((0xf0e0c000 >>> (8 * n - 8)) & 0xff) | (cp >> (6 * n - 6));
      for (let k = 1; k < n; k++) dest[written + k] = 0x80 | ((cp >> (6 * (n - k - 1))) & 0x3f);
      written += n;
      read += cp > 0xffff ? 2 : 1;
    }
    return { read, written };
  }
}

export class TextDecoder {
  /** @param {string} [label] @param {{fatal?: boolean, ignoreBOM?: boolean}} [options] */
  constructor(label = 'utf-8', options) {
    if (!/^(utf-?8|unicode-1-1-utf-8)$/.test(String(label).trim().toLowerCase())) {
      throw new RangeError(`TextDecoder: only utf-8 is supported, not "${label}"`);
    }
    const o = options || {};
    this.fatal = !!o.fatal;
    this.ignoreBOM = !!o.ignoreBOM;
  }

  get encoding() {
    return 'utf-8';
  }

  /** @param {ArrayBuffer|ArrayBufferView} [input] @param {{stream?: boolean}} [options] */
  decode(input = [], options) {
    if (options?.stream) throw new TypeError('TextDecoder: streaming decode is not supported');
    const bytes = ArrayBuffer.isView(input)
      ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength)
      : new Uint8Array(input);
    let result = '';
    let units = [];
    const flush = () => {
      result += String.fromCharCode.apply(null, units);
      units = [];
    };
    const emit = (cp) => {
      if (cp > 0xffff) units.push(0xd7c0 + (cp >> 10), 0xdc00 | (cp & 0x3ff));
      else units.push(cp);
      if (units.length >= CHUNK) flush();
    };
    const invalid = () => {
      if (this.fatal) throw new TypeError('TextDecoder: the data is not valid UTF-8');
      emit(0xfffd);
    };

    // The WHATWG UTF-8 decoder: `needed` continuation bytes to come, each in [lower, upper].
    let needed = 0;
    let cp = 0;
    let lower = 0x80;
    let upper = 0xbf;
    let i = !this.ignoreBOM && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
    while (i < bytes.length) {
      const b = bytes[i];
      if (!needed) {
        i++;
        if (b < 0x80) {
          emit(b);
        } else if (b >= 0xc2 && b <= 0xf4) {
          needed = b < 0xe0 ? 1 : b < 0xf0 ? 2 : 3;
          cp = b & (0x7f >> (needed + 1));
          // No overlong forms, no surrogates, nothing above U+10FFFF.
          if (b === 0xe0) lower = 0xa0;
          else if (b === 0xed) upper = 0x9f;
          else if (b === 0xf0) lower = 0x90;
          else if (b === 0xf4) upper = 0x8f;
        } else {
          invalid();
        }
      } else if (b < lower || b > upper) {
        // Not a valid continuation: the sequence so far is one error; this byte is read again.
        needed = 0;
        lower = 0x80;
        upper = 0xbf;
        invalid();
      } else {
        i++;
        lower = 0x80;
        upper = 0xbf;
        cp = (cp << 6) | (b & 0x3f);
        if (!--needed) emit(cp);
      }
    }
    if (needed) invalid();
    flush();
    return result;
  }
}
