/**
 * Fuzz test of the mini-program UTF-8 codec (../src/text-codec.mjs) against Node's
 * TextEncoder/TextDecoder: random strings with lone surrogates, random and mutated byte arrays
 * with invalid UTF-8 (which our decoder refuses exactly where a fatal decoder does). Deterministic per seed; set FUZZ_SEED to explore others and FUZZ_ITER to
 * change the number of cases.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mulberry32 as rng } from '../../tests/realm/support/prng.mjs';
import { TextDecoder as Utf8Decoder, TextEncoder as Utf8Encoder } from '../src/text-codec.mjs';

const SEED = Number(process.env.FUZZ_SEED ?? 0x6d616964);
const ITER = Number(process.env.FUZZ_ITER ?? 3000);

const int = (rand, n) => Math.floor(rand() * n);
const pick = (rand, xs) => xs[int(rand, xs.length)];

/** One UTF-16 code unit or pair, biased towards boundaries and surrogates. */
function randomPiece(rand) {
  switch (int(rand, 10)) {
    case 0:
      return String.fromCharCode(int(rand, 0x80));
    case 1:
      return String.fromCharCode(0x80 + int(rand, 0x800 - 0x80));
    case 2:
      return String.fromCharCode(0x800 + int(rand, 0xd800 - 0x800));
    case 3:
      return String.fromCharCode(0xe000 + int(rand, 0x10000 - 0xe000));
    case 4: // lone high surrogate
      return String.fromCharCode(0xd800 + int(rand, 0x400));
    case 5: // lone low surrogate
      return String.fromCharCode(0xdc00 + int(rand, 0x400));
    case 6:
      return String.fromCodePoint(0x10000 + int(rand, 0x110000 - 0x10000));
    case 7:
      return pick(rand, ['\0', '\x7f', '\x80', '\u07ff', '\u0800', '\ufeff', '\ufffd', '\uffff']);
    case 8:
      return pick(rand, ['埋点', '🚀', 'é', 'a', ' ', '\ud83d', '\ude80', '\udbff\udfff']);
    default:
      return String.fromCharCode(int(rand, 0x10000));
  }
}

function randomString(rand, maxPieces = 40) {
  let s = '';
  const n = int(rand, maxPieces);
  for (let i = 0; i < n; i++) s += randomPiece(rand);
  return s;
}

/** Random bytes: pure noise, or valid UTF-8 damaged in typical ways. */
function randomBytes(rand, enc) {
  if (int(rand, 3) === 0) {
    const out = new Uint8Array(int(rand, 64));
    for (let i = 0; i < out.length; i++) out[i] = int(rand, 256);
    return out;
  }
  const bytes = Array.from(enc.encode(randomString(rand, 20)));
  const special = [
    [0xc0, 0x80], // overlong NUL
    [0xc1, 0xbf],
    [0xe0, 0x80, 0x80], // overlong
    [0xe0, 0x9f, 0xbf],
    [0xed, 0xa0, 0x80], // encoded surrogate
    [0xed, 0xbf, 0xbf],
    [0xf0, 0x80, 0x80, 0x80],
    [0xf4, 0x90, 0x80, 0x80], // > U+10FFFF
    [0xf5, 0x80, 0x80, 0x80],
    [0xff],
    [0xfe],
    [0x80],
    [0xbf, 0xbf],
    [0xe2, 0x82], // truncated
    [0xf0, 0x9f, 0x9a], // truncated emoji
    [0xef, 0xbb, 0xbf], // BOM
  ];
  const edits = int(rand, 4);
  for (let e = 0; e < edits; e++) {
    const at = int(rand, bytes.length + 1);
    switch (int(rand, 4)) {
      case 0:
        bytes.splice(at, 0, ...pick(rand, special));
        break;
      case 1:
        if (bytes.length) bytes[Math.min(at, bytes.length - 1)] = int(rand, 256);
        break;
      case 2:
        bytes.splice(at, 1);
        break;
      default:
        bytes.length = Math.min(bytes.length, at);
    }
  }
  if (int(rand, 8) === 0) bytes.unshift(0xef, 0xbb, 0xbf);
  return Uint8Array.from(bytes);
}

const hex = (bytes) => Buffer.from(bytes).toString('hex');
const codeUnits = (s) => Array.from(s, (c) => c.codePointAt(0).toString(16)).join(' ');

describe('UTF-8 encoder vs Node', () => {
  const node = new TextEncoder();
  const ours = new Utf8Encoder();

  it('encode() matches on random strings with lone surrogates', () => {
    const rand = rng(SEED);
    for (let i = 0; i < ITER; i++) {
      const s = randomString(rand);
      assert.deepEqual(ours.encode(s), node.encode(s), `seed ${SEED} case ${i}: ${codeUnits(s)}`);
    }
  });

  it('handles the edge inputs the glue may pass', () => {
    assert.deepEqual(ours.encode(), node.encode());
    assert.deepEqual(ours.encode(''), node.encode(''));
    assert.deepEqual(ours.encode('埋点 🚀'), node.encode('埋点 🚀'));
    assert.equal(ours.encode('埋点 🚀').length, 11);
    assert.deepEqual(
      ours.encode('\udc00\ud800\udc00\udc00\ud800'),
      node.encode('\udc00\ud800\udc00\udc00\ud800'),
    );
  });
});

describe('UTF-8 decoder vs Node', () => {
  it('decode() matches on valid UTF-8 (with and without a BOM) and throws exactly where a fatal decoder throws', () => {
    const rand = rng(SEED + 2);
    const enc = new TextEncoder();
    const node = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    const ours = new Utf8Decoder('utf-8', { ignoreBOM: true });
    let valid = 0;
    for (let i = 0; i < ITER; i++) {
      const bytes = randomBytes(rand, enc);
      let expected;
      try {
        expected = node.decode(bytes);
      } catch {
        assert.throws(() => ours.decode(bytes), URIError, `case ${i}: ${hex(bytes)}`);
        continue;
      }
      valid += 1;
      assert.equal(ours.decode(bytes), expected, `case ${i}: ${hex(bytes)}`);
    }
    // Both branches are exercised.
    assert.ok(valid > ITER / 10 && valid < ITER - ITER / 10, `${valid} of ${ITER} valid`);
  });

  it('round-trips valid strings, including long ones past the chunk size', () => {
    const rand = rng(SEED + 4);
    const enc = new TextEncoder();
    const ours = new Utf8Decoder('utf-8', { ignoreBOM: true });
    let long = '';
    while (long.length < 50_000) long += randomPiece(rand);
    const bytes = enc.encode(long);
    const expected = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
    // assert.ok: a diff of two 50 000-character strings is unreadable.
    assert.ok(ours.decode(bytes) === expected, `seed ${SEED + 4}: long string differs`);
  });

  it('decodes subarrays and the empty input the glue passes', () => {
    const ours = new Utf8Decoder();
    const buf = new TextEncoder().encode('xx埋点%yy');
    assert.equal(ours.decode(buf.subarray(2, 9)), '埋点%');
    assert.equal(ours.decode(), '');
    assert.equal(ours.decode(new Uint8Array(0)), '');
    assert.equal(ours.decode(Uint8Array.of(0xef, 0xbb, 0xbf, 0x41)), '\ufeffA');
  });
});
