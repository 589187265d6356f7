//! Write-key authentication: the key arrives as `Authorization: Basic base64(key:)` (Segment
//! style), as `X-Write-Key`, or as `?key=` (beacons that cannot set headers). Missing: 401
//! `missing_write_key`; unknown: 401 `invalid_write_key`.

use std::borrow::Cow;

use hyper::header::{AUTHORIZATION, HeaderMap};
use maidian_protocol::RequestError;

/// Decodes standard base64 (padding optional). `None` for anything malformed.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    }
    let s = s.trim().trim_end_matches('=').as_bytes();
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for chunk in s.chunks(4) {
        let mut acc = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            acc |= val(*c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Decodes `%XX` escapes and `+` of a query value.
pub fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains(['%', '+']) {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// The value of query parameter `name`, percent-decoded.
pub fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<Cow<'a, str>> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| percent_decode(v))
    })
}

/// Finds the write key in the request.
pub fn write_key<'a>(
    headers: &'a HeaderMap,
    query: Option<&'a str>,
) -> Result<Cow<'a, str>, RequestError> {
    if let Some(v) = headers.get(AUTHORIZATION) {
        let v = v.to_str().map_err(|_| RequestError::InvalidWriteKey)?;
        let (scheme, rest) = v.trim().split_once(' ').unwrap_or((v, ""));
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(RequestError::InvalidWriteKey);
        }
        let raw = base64_decode(rest).ok_or(RequestError::InvalidWriteKey)?;
        let text = String::from_utf8(raw).map_err(|_| RequestError::InvalidWriteKey)?;
        let (user, password) = text.split_once(':').unwrap_or((&text, ""));
        let key = if user.is_empty() { password } else { user };
        if key.is_empty() {
            return Err(RequestError::MissingWriteKey);
        }
        return Ok(Cow::Owned(key.to_owned()));
    }
    if let Some(v) = headers.get("x-write-key") {
        let key = v
            .to_str()
            .map_err(|_| RequestError::InvalidWriteKey)?
            .trim();
        if key.is_empty() {
            return Err(RequestError::MissingWriteKey);
        }
        return Ok(Cow::Borrowed(key));
    }
    match query_param(query, "key") {
        Some(k) if !k.is_empty() => Ok(k),
        _ => Err(RequestError::MissingWriteKey),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    #[test]
    fn base64() {
        assert_eq!(base64_decode("ZGVtby1rZXk6").unwrap(), b"demo-key:");
        assert_eq!(base64_decode("ZGVtby1rZXk6\n").unwrap(), b"demo-key:");
        assert_eq!(base64_decode("YQ==").unwrap(), b"a");
        assert_eq!(base64_decode("YWI").unwrap(), b"ab");
        assert_eq!(base64_decode("").unwrap(), b"");
        assert!(base64_decode("Y").is_none());
        assert!(base64_decode("Y!==").is_none());
    }

    #[test]
    fn forms() {
        let mut h = HeaderMap::new();
        assert_eq!(write_key(&h, None), Err(RequestError::MissingWriteKey));
        assert_eq!(write_key(&h, Some("key=k%2D1&x=1")).unwrap(), "k-1");
        assert_eq!(
            write_key(&h, Some("key=")),
            Err(RequestError::MissingWriteKey)
        );
        h.insert("x-write-key", HeaderValue::from_static("k2"));
        assert_eq!(write_key(&h, Some("key=k1")).unwrap(), "k2");
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_static("Basic ZGVtby1rZXk6"),
        );
        assert_eq!(write_key(&h, None).unwrap(), "demo-key");
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_static("Basic OmRlbW8ta2V5"),
        ); // ":demo-key"
        assert_eq!(write_key(&h, None).unwrap(), "demo-key");
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert_eq!(write_key(&h, None), Err(RequestError::InvalidWriteKey));
        h.insert(AUTHORIZATION, HeaderValue::from_static("Basic Og==")); // ":"
        assert_eq!(write_key(&h, None), Err(RequestError::MissingWriteKey));
    }

    #[test]
    fn percent() {
        assert_eq!(percent_decode("a%20b+c%zz%4"), "a b c%zz%4");
        assert_eq!(
            query_param(Some("a=1&compression=gzip"), "compression").unwrap(),
            "gzip"
        );
        assert_eq!(query_param(Some("a"), "b"), None);
    }
}
