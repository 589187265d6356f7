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
 */

const REPLACEMENT = 0xfffd;
const CHUNK = 0x2000; // code units per String.fromCharCode.apply call

/** Number of UTF-8 bytes of the code point starting at `str[i]`, and UTF-16 units read. */
function codePointAt(str, i) {
  const c = str.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < str.length) {
    const d = str.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) {
      return [((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000, 2];
    }
  }
  if (c >= 0xd800 && c <= 0xdfff) {
    return [REPLACEMENT, 1];
  }
  return [c, 1];
}

function utf8Length(cp) {
  if (cp < 0x80) return 1;
  if (cp < 0x800) return 2;
  if (cp < 0x10000) return 3;
  return 4;
}

function writeCodePoint(cp, out, pos) {
  if (cp < 0x80) {
    out[pos] = cp;
    return pos + 1;
  }
  if (cp < 0x800) {
    out[pos] = 0xc0 | (cp >> 6);
    out[pos + 1] = 0x80 | (cp & 0x3f);
    return pos + 2;
  }
  if (cp < 0x10000) {
    out[pos] = 0xe0 | (cp >> 12);
    out[pos + 1] = 0x80 | ((cp >> 6) & 0x3f);
    out[pos + 2] = 0x80 | (cp & 0x3f);
    return pos + 3;
  }
  out[pos] = 0xf0 | (cp >> 18);
  out[pos + 1] = 0x80 | ((cp >> 12) & 0x3f);
  out[pos + 2] = 0x80 | ((cp >> 6) & 0x3f);
  out[pos + 3] = 0x80 | (cp & 0x3f);
  return pos + 4;
}

export class TextEncoder {
  get encoding() {
    return 'utf-8';
  }

  /** @param {string} [input] @returns {Uint8Array} */
  encode(input) {
    const str = input === undefined ? '' : String(input);
    // Worst case 3 bytes per UTF-16 code unit (a surrogate pair is 2 units -> 4 bytes).
    const out = new Uint8Array(str.length * 3);
    let pos = 0;
    for (let i = 0; i < str.length; ) {
      const [cp, units] = codePointAt(str, i);
      pos = writeCodePoint(cp, out, pos);
      i += units;
    }
    return out.slice(0, pos);
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
      const [cp, units] = codePointAt(str, read);
      if (written + utf8Length(cp) > dest.length) break;
      written = writeCodePoint(cp, dest, written);
      read += units;
    }
    return { read, written };
  }
}

export class TextDecoder {
  /** @param {string} [label] @param {{fatal?: boolean, ignoreBOM?: boolean}} [options] */
  constructor(label, options) {
    const name = label === undefined ? 'utf-8' : String(label).trim().toLowerCase();
    if (name !== 'utf-8' && name !== 'utf8' && name !== 'unicode-1-1-utf-8') {
      throw new RangeError(`TextDecoder: only utf-8 is supported, not "${label}"`);
    }
    this.fatal = !!options?.fatal;
    this.ignoreBOM = !!options?.ignoreBOM;
  }

  get encoding() {
    return 'utf-8';
  }

  /** @param {ArrayBuffer|ArrayBufferView} [input] @param {{stream?: boolean}} [options] */
  decode(input, options) {
    if (options?.stream) {
      throw new TypeError('TextDecoder: streaming decode is not supported');
    }
    if (input === undefined) return '';
    let bytes;
    if (input instanceof Uint8Array) {
      bytes = input;
    } else if (ArrayBuffer.isView(input)) {
      bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    } else {
      bytes = new Uint8Array(input);
    }
    return this._decode(bytes);
  }

  _decode(bytes) {
    const units = [];
    let result = '';
    const emit = (cp) => {
      if (cp > 0xffff) {
        cp -= 0x10000;
        units.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
      } else {
        units.push(cp);
      }
      if (units.length >= CHUNK) {
        result += String.fromCharCode.apply(null, units);
        units.length = 0;
      }
    };
    const invalid = () => {
      if (this.fatal) throw new TypeError('The encoded data was not valid for encoding utf-8');
      emit(REPLACEMENT);
    };

    // The WHATWG UTF-8 decoder state machine.
    let needed = 0;
    let seen = 0;
    let cp = 0;
    let lower = 0x80;
    let upper = 0xbf;
    let i = 0;
    if (
      !this.ignoreBOM &&
      bytes.length >= 3 &&
      bytes[0] === 0xef &&
      bytes[1] === 0xbb &&
      bytes[2] === 0xbf
    ) {
      i = 3;
    }
    while (i < bytes.length) {
      const b = bytes[i];
      if (needed === 0) {
        i++;
        if (b < 0x80) {
          emit(b);
        } else if (b >= 0xc2 && b <= 0xdf) {
          needed = 1;
          cp = b & 0x1f;
        } else if (b >= 0xe0 && b <= 0xef) {
          if (b === 0xe0) lower = 0xa0;
          if (b === 0xed) upper = 0x9f;
          needed = 2;
          cp = b & 0x0f;
        } else if (b >= 0xf0 && b <= 0xf4) {
          if (b === 0xf0) lower = 0x90;
          if (b === 0xf4) upper = 0x8f;
          needed = 3;
          cp = b & 0x07;
        } else {
          invalid();
        }
        continue;
      }
      if (b < lower || b > upper) {
        // Not a valid continuation: the sequence so far is one error; reprocess this byte.
        needed = 0;
        seen = 0;
        cp = 0;
        lower = 0x80;
        upper = 0xbf;
        invalid();
        continue;
      }
      i++;
      lower = 0x80;
      upper = 0xbf;
      cp = (cp << 6) | (b & 0x3f);
      seen++;
      if (seen === needed) {
        emit(cp);
        needed = 0;
        seen = 0;
        cp = 0;
      }
    }
    if (needed !== 0) invalid();
    return result + String.fromCharCode.apply(null, units);
  }
}
