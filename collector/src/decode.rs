//! Content decoding: which encoding a body has (`Content-Encoding`, `?compression=`, or the
//! gzip magic bytes) and streaming inflation with an output cap, so a small gzip bomb is
//! refused after at most `max_inflated_bytes` of output instead of being inflated whole.

use std::borrow::Cow;
use std::io::Read;

// The `bufread` decoders read the body slice in place (the `read` ones would copy it through a
// zero-filled 32 KiB buffer first); the decoding is the same.
use flate2::bufread::{DeflateDecoder, MultiGzDecoder, ZlibDecoder};
use flate2::{Decompress, FlushDecompress, Status};
use maidian_protocol::RequestError;

/// A body's content encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// As is.
    Identity,
    /// gzip (RFC 1952), possibly several members.
    Gzip,
    /// `deflate`: zlib-wrapped (RFC 1950, what HTTP means) or raw (RFC 1951, what some
    /// clients send); told apart by the zlib header.
    Deflate,
}

fn parse_name(name: &str) -> Result<Encoding, RequestError> {
    match name.trim().to_ascii_lowercase().as_str() {
        "" | "identity" | "none" => Ok(Encoding::Identity),
        "gzip" | "x-gzip" => Ok(Encoding::Gzip),
        "deflate" => Ok(Encoding::Deflate),
        _ => Err(RequestError::UnsupportedEncoding),
    }
}

/// Chooses the encoding from the `Content-Encoding` header, the `compression` query
/// parameter and the first bytes of the body. Anything but gzip, deflate or identity: 415.
pub fn choose(
    header: Option<&str>,
    query: Option<&str>,
    body: &[u8],
) -> Result<Encoding, RequestError> {
    let mut enc = Encoding::Identity;
    if let Some(h) = header {
        // A list applies right to left; only one non-identity coding is supported.
        let mut codings = h
            .split(',')
            .map(parse_name)
            .filter(|e| *e != Ok(Encoding::Identity));
        if let Some(first) = codings.next() {
            enc = first?;
            if codings.next().is_some() {
                return Err(RequestError::UnsupportedEncoding);
            }
        }
    }
    if let Some(q) = query {
        let qe = parse_name(q)?;
        if enc == Encoding::Identity {
            enc = qe;
        }
    }
    if enc == Encoding::Identity && body.starts_with(&[0x1f, 0x8b]) {
        // JSON never starts with 0x1f: this is gzip sent without a header.
        enc = Encoding::Gzip;
    }
    Ok(enc)
}

/// Reads `reader` to its end into one buffer, at most `cap + 1` bytes (one more than allowed
/// tells a too-large body). The buffer starts at `size_hint` and doubles when full: each byte
/// is zero-filled once and never copied (`read_to_end` would probe and regrow at the end).
fn inflate(mut reader: impl Read, cap: usize, size_hint: usize) -> Result<Vec<u8>, RequestError> {
    let limit = cap.saturating_add(1);
    let mut out = vec![0u8; size_hint.clamp(1, limit)];
    let mut len = 0;
    loop {
        if len == out.len() {
            if len == limit {
                break;
            }
            out.resize(len.saturating_mul(2).min(limit), 0);
        }
        match reader.read(&mut out[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return Err(RequestError::CorruptEncoding),
        }
    }
    out.truncate(len);
    if len > cap {
        return Err(RequestError::InflatedTooLarge);
    }
    Ok(out)
}

/// The inflated size a gzip body announces in its (last) member's trailer — ISIZE, the size
/// modulo 2^32 — plus the one byte of room the final zero-length read needs, so that a
/// single-member body is inflated into a buffer of the right size at once. Only a hint (a
/// wrong one costs a regrowth or some unused room): ignored beyond the ~1032:1 that deflate can
/// reach, so a forged trailer cannot reserve more than the body could inflate to.
fn gzip_size_hint(body: &[u8]) -> Option<usize> {
    let trailer = body.last_chunk::<4>()?;
    let size = usize::try_from(u32::from_le_bytes(*trailer)).ok()?;
    (size <= body.len().saturating_mul(1032)).then(|| size.saturating_add(1))
}

/// Inflates a gzip body (one member or several, concatenated) into one vector of at most
/// `cap + 1` bytes, as [`inflate`] over `MultiGzDecoder` does (the same results and errors;
/// a differential test holds the two together). The first member — the whole body as SDKs send
/// it — is inflated in zlib-rs' own gzip mode straight into the vector's spare capacity: no
/// zero-filled buffer, and when `size_hint` (the trailer's ISIZE) covers the output, one
/// `Finish` call, which keeps no sliding-window copy of the output (zlib keeps no window for a
/// stream it completes in the call). A wrong hint costs a regrowth, as in [`inflate`]. Any
/// further members go through the streaming decoder, which resets its state per member more
/// cheaply than a new gzip-mode state (a 1 MB body of 52 k empty members took ≈ 4× as long
/// with a new state each; now it costs what it did before).
fn inflate_gzip(body: &[u8], cap: usize, size_hint: usize) -> Result<Vec<u8>, RequestError> {
    let limit = cap.saturating_add(1);
    let mut out = Vec::with_capacity(size_hint.clamp(1, limit));
    let mut input = body;
    let mut member = Decompress::new_gzip(15);
    loop {
        if out.len() >= out.capacity() {
            if out.len() >= limit {
                return Err(RequestError::InflatedTooLarge);
            }
            let grown = out.len().saturating_mul(2).min(limit);
            out.reserve_exact(grown - out.len());
        }
        let (read, written) = (member.total_in(), out.len());
        let result = member.decompress_vec(input, &mut out, FlushDecompress::Finish);
        if out.len() >= limit {
            // Too large whatever follows (the streaming path stops reading here too).
            return Err(RequestError::InflatedTooLarge);
        }
        let status = result.map_err(|_| RequestError::CorruptEncoding)?;
        let consumed = usize::try_from(member.total_in() - read).unwrap_or(usize::MAX);
        input = input.get(consumed..).unwrap_or_default();
        match status {
            Status::StreamEnd => break,
            // Neither input taken nor output made with room to spare: the member is cut short
            // (or the body is empty).
            _ if consumed == 0 && out.len() == written && out.len() < out.capacity() => {
                return Err(RequestError::CorruptEncoding);
            }
            _ => {}
        }
    }
    if !input.is_empty() {
        let rest = inflate(
            MultiGzDecoder::new(input),
            cap - out.len(),
            input.len().saturating_mul(10),
        )?;
        out.extend_from_slice(&rest);
    }
    Ok(out)
}

fn is_zlib(b: &[u8]) -> bool {
    b.len() >= 2 && b[0] & 0x0f == 8 && (u16::from(b[0]) << 8 | u16::from(b[1])) % 31 == 0
}

/// Decodes `body`; the result never exceeds `cap` bytes (else 413 `inflated_too_large`), and
/// inflation stops as soon as it would.
pub fn decode(enc: Encoding, body: &[u8], cap: usize) -> Result<Cow<'_, [u8]>, RequestError> {
    // Typical JSON compresses 5-10x; start there and let the vector grow (at most ~2x cap).
    let hint = body.len().saturating_mul(10);
    match enc {
        Encoding::Identity if body.len() > cap => Err(RequestError::InflatedTooLarge),
        Encoding::Identity => Ok(Cow::Borrowed(body)),
        Encoding::Gzip => {
            let hint = gzip_size_hint(body).unwrap_or(hint);
            inflate_gzip(body, cap, hint).map(Cow::Owned)
        }
        Encoding::Deflate if is_zlib(body) => {
            inflate(ZlibDecoder::new(body), cap, hint).map(Cow::Owned)
        }
        Encoding::Deflate => inflate(DeflateDecoder::new(body), cap, hint).map(Cow::Owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    use std::io::Write;

    fn gz(b: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn choosing() {
        assert_eq!(choose(None, None, b"{}"), Ok(Encoding::Identity));
        assert_eq!(choose(Some("GZIP"), None, b""), Ok(Encoding::Gzip));
        assert_eq!(
            choose(Some("identity, gzip"), None, b""),
            Ok(Encoding::Gzip)
        );
        assert_eq!(choose(Some("deflate"), None, b""), Ok(Encoding::Deflate));
        assert_eq!(choose(None, Some("gzip"), b"{}"), Ok(Encoding::Gzip));
        assert_eq!(choose(None, None, &[0x1f, 0x8b, 8]), Ok(Encoding::Gzip));
        assert_eq!(
            choose(Some("br"), None, b""),
            Err(RequestError::UnsupportedEncoding)
        );
        assert_eq!(
            choose(Some("gzip, br"), None, b""),
            Err(RequestError::UnsupportedEncoding)
        );
        assert_eq!(
            choose(None, Some("zstd"), b""),
            Err(RequestError::UnsupportedEncoding)
        );
    }

    #[test]
    fn decoding() {
        let text = br#"{"batch":[{"a":1}]}"#;
        assert_eq!(
            decode(Encoding::Gzip, &gz(text), 100).unwrap().as_ref(),
            text
        );
        let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
        z.write_all(text).unwrap();
        assert_eq!(
            decode(Encoding::Deflate, &z.finish().unwrap(), 100)
                .unwrap()
                .as_ref(),
            text
        );
        let mut d = DeflateEncoder::new(Vec::new(), Compression::default());
        d.write_all(text).unwrap();
        assert_eq!(
            decode(Encoding::Deflate, &d.finish().unwrap(), 100)
                .unwrap()
                .as_ref(),
            text
        );
        assert_eq!(
            decode(Encoding::Gzip, b"\x1f\x8bnot gzip", 100),
            Err(RequestError::CorruptEncoding)
        );
        assert_eq!(
            decode(Encoding::Identity, text, 5),
            Err(RequestError::InflatedTooLarge)
        );
        // Exactly at the cap is fine.
        assert!(decode(Encoding::Gzip, &gz(text), text.len()).is_ok());
        assert_eq!(
            decode(Encoding::Gzip, &gz(text), text.len() - 1),
            Err(RequestError::InflatedTooLarge)
        );
    }

    #[test]
    fn bomb_is_refused_early() {
        // 50 concatenated members of 1 MiB each: ~50 KB that inflates to 50 MiB.
        let member = gz(&vec![b' '; 1 << 20]);
        let bomb: Vec<u8> = (0..50).flat_map(|_| member.iter().copied()).collect();
        assert!(bomb.len() < 100 << 10, "{}", bomb.len());
        assert_eq!(
            decode(Encoding::Gzip, &bomb, 4 << 20),
            Err(RequestError::InflatedTooLarge)
        );
    }

    /// A reader that hands out at most `step` bytes per call and is sometimes interrupted.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
        calls: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.calls += 1;
            if self.calls % 3 == 0 {
                return Err(std::io::ErrorKind::Interrupted.into());
            }
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    /// `inflate_gzip` answers exactly what the streaming `MultiGzDecoder` path answers (the
    /// bytes, or the same error), on valid, multi-member, header-field, truncated, corrupted
    /// and padded bodies, under caps around the size and with right and wrong size hints.
    #[test]
    fn gzip_matches_the_streaming_decoder() {
        let reference = |body: &[u8], cap: usize, hint: usize| {
            inflate(flate2::bufread::MultiGzDecoder::new(body), cap, hint)
        };
        let mut x = 0x9E37_79B9_7F4A_7C15_u64;
        let mut rnd = move |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n.max(1) as u64) as usize
        };
        let text = |len: usize, seed: usize| -> Vec<u8> {
            let pattern = b"{\"event\":\"add_to_cart\",\"n\":12345}\n";
            (0..len)
                .map(|i| pattern[(i * 7 + seed) % pattern.len()])
                .collect()
        };
        let mut bodies: Vec<Vec<u8>> = Vec::new();
        for len in [0, 1, 2, 100, 4_000, 47_000, 70_000] {
            for level in [0, 1, 6, 9] {
                let mut e = GzEncoder::new(Vec::new(), Compression::new(level));
                e.write_all(&text(len, level as usize)).unwrap();
                bodies.push(e.finish().unwrap());
            }
        }
        let mut b = flate2::GzBuilder::new()
            .filename("batch.json")
            .comment("c")
            .extra(vec![1, 2, 3])
            .mtime(7)
            .write(Vec::new(), Compression::default());
        b.write_all(&text(3_000, 1)).unwrap();
        bodies.push(b.finish().unwrap());
        // Several members, an empty one among them.
        let members = [gz(&text(1_000, 2)), gz(b""), gz(&text(20_000, 3))];
        bodies.push(members.concat());
        bodies.push([members[0].clone(), members[0].clone()].concat());
        let valid = bodies.len();
        for i in 0..valid {
            let good = bodies[i].clone();
            // Cut at many places, padded with zeros or garbage, a second header begun.
            for _ in 0..6 {
                bodies.push(good[..rnd(good.len())].to_vec());
            }
            bodies.push([good.clone(), vec![0; 1 + rnd(8)]].concat());
            bodies.push([good.clone(), b"\x1f\x8b".to_vec()].concat());
            bodies.push([good.clone(), b"garbage".to_vec()].concat());
            // One to three bytes changed anywhere (header, data, trailer).
            for _ in 0..12 {
                let mut bad = good.clone();
                for _ in 0..1 + rnd(3) {
                    let at = rnd(bad.len());
                    bad[at] ^= 1 + rnd(255) as u8;
                }
                bodies.push(bad);
            }
            // Reserved header flag bits, and a method that is not deflate.
            let mut flags = good.clone();
            flags[3] |= 0x20 << rnd(3);
            bodies.push(flags);
            let mut method = good.clone();
            method[2] = 7;
            bodies.push(method);
        }
        bodies.push(Vec::new());
        bodies.push(b"\x1f\x8b".to_vec());
        for body in &bodies {
            let size = reference(body, usize::MAX - 1, 1).map_or(1_000, |v| v.len());
            for cap in [0, size / 2, size.saturating_sub(1), size, size + 1, 1 << 20] {
                for hint in [1, size + 1, size / 3 + 1, gzip_size_hint(body).unwrap_or(1)] {
                    assert_eq!(
                        inflate_gzip(body, cap, hint),
                        reference(body, cap, hint),
                        "body {body:02x?}, cap {cap}, hint {hint}",
                    );
                }
            }
        }
    }

    #[test]
    fn gzip_hint_is_the_trailer_size_when_plausible() {
        let body = gz(&[b'x'; 47_000]);
        assert_eq!(gzip_size_hint(&body), Some(47_001));
        assert_eq!(
            decode(Encoding::Gzip, &body, 1 << 20).map(|b| b.len()),
            Ok(47_000)
        );
        let mut forged = body.clone();
        let n = forged.len();
        forged[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(gzip_size_hint(&forged), None);
        assert_eq!(gzip_size_hint(b"abc"), None);
    }

    #[test]
    fn inflate_reads_everything_up_to_one_past_the_cap() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
        for len in [0, 1, 7, 64, 1000, 4999, 5000] {
            for cap in [0, 1, 63, 64, 65, 999, 1000, 1001, 5000] {
                for hint in [0, 1, 3, 64, 10_000] {
                    for step in [1, 5, 4096] {
                        let reader = Trickle {
                            data: &data[..len],
                            step,
                            calls: 0,
                        };
                        let want = if len > cap {
                            Err(RequestError::InflatedTooLarge)
                        } else {
                            Ok(data[..len].to_vec())
                        };
                        assert_eq!(inflate(reader, cap, hint), want, "{len} {cap} {hint}");
                    }
                }
            }
        }
    }
}
