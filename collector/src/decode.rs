//! Content decoding: which encoding a body has (`Content-Encoding`, `?compression=`, or the
//! gzip magic bytes) and streaming inflation with an output cap, so a small gzip bomb is
//! refused after at most `max_inflated_bytes` of output instead of being inflated whole.

use std::borrow::Cow;
use std::io::Read;

// The `bufread` decoders read the body slice in place (the `read` ones would copy it through a
// zero-filled 32 KiB buffer first); the decoding is the same.
use flate2::bufread::{DeflateDecoder, MultiGzDecoder, ZlibDecoder};
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

fn inflate(reader: impl Read, cap: usize, size_hint: usize) -> Result<Vec<u8>, RequestError> {
    let mut out = Vec::with_capacity(size_hint.min(cap.saturating_add(1)));
    let mut limited = reader.take(cap as u64 + 1);
    limited
        .read_to_end(&mut out)
        .map_err(|_| RequestError::CorruptEncoding)?;
    if out.len() > cap {
        return Err(RequestError::InflatedTooLarge);
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
        Encoding::Gzip => inflate(MultiGzDecoder::new(body), cap, hint).map(Cow::Owned),
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
}
