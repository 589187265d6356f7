//! Zero-allocation shape check of a JSON value's text: nesting depth, string length (decoded
//! UTF-8 bytes), key length and, for the walked object itself, key count.
//!
//! The text has already been syntax-checked by serde_json (it is a `RawValue` the body
//! splitter or [`crate::validate`] produced), so this is a single forward byte scan rather than
//! a second full parse — about twice as fast as driving serde's visitor over it. On text that
//! is not valid JSON it still terminates without panicking, but its answer is unspecified.

use crate::reason::Reason;

/// The bounds a walk enforces.
#[derive(Debug, Clone, Copy)]
pub struct ShapeLimits {
    /// Deepest allowed container level, counting the walked value's parents.
    pub max_depth: usize,
    /// Longest string value in bytes.
    pub max_string_bytes: usize,
    /// Longest key in bytes (empty keys are refused too).
    pub max_key_bytes: usize,
    /// Most keys of the walked value itself when it is an object.
    pub max_top_keys: usize,
}

/// Checks `json` (the text of one valid JSON value) against `limits`. `depth` is the container
/// level of the value's parent (0 for a document root). Returns the first violated [`Reason`]:
/// `TooDeep`, `StringTooLong`, `InvalidKey` or `TooManyProperties`.
pub fn check(json: &str, depth: usize, limits: &ShapeLimits) -> Result<(), Reason> {
    let b = json.as_bytes();
    let base = depth;
    let mut depth = depth;
    // Bit n set: the container at relative level n+1 is an object. serde_json refuses nesting
    // beyond 128 levels, so valid text never needs more bits; deeper levels read as arrays.
    let mut objects: u128 = 0;
    let mut expect_key = false;
    let mut top_keys = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                let (len, next) = string_len(b, i + 1);
                i = next;
                if expect_key {
                    expect_key = false;
                    if len == 0 || len > limits.max_key_bytes {
                        return Err(Reason::InvalidKey);
                    }
                    if depth == base + 1 {
                        top_keys += 1;
                        if top_keys > limits.max_top_keys {
                            return Err(Reason::TooManyProperties);
                        }
                    }
                } else if len > limits.max_string_bytes {
                    return Err(Reason::StringTooLong);
                }
                continue;
            }
            c @ (b'{' | b'[') => {
                depth += 1;
                if depth > limits.max_depth {
                    return Err(Reason::TooDeep);
                }
                let bit = depth - base - 1;
                if bit < 128 {
                    if c == b'{' {
                        objects |= 1 << bit;
                    } else {
                        objects &= !(1 << bit);
                    }
                }
                expect_key = c == b'{';
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1).max(base);
                expect_key = false;
            }
            b',' => {
                let rel = depth.saturating_sub(base);
                expect_key = rel > 0 && rel <= 128 && objects & (1 << (rel - 1)) != 0;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Decoded UTF-8 length of the string whose body starts at `i` (just after the opening quote),
/// and the index just past its closing quote.
fn string_len(b: &[u8], mut i: usize) -> (usize, usize) {
    let mut len = 0usize;
    while i < b.len() {
        match b[i] {
            b'"' => return (len, i + 1),
            b'\\' => {
                if b.get(i + 1) == Some(&b'u') {
                    let cp = hex4(b, i + 2);
                    if (0xD800..0xDC00).contains(&cp)
                        && b.get(i + 6) == Some(&b'\\')
                        && b.get(i + 7) == Some(&b'u')
                        && (0xDC00..0xE000).contains(&hex4(b, i + 8))
                    {
                        len += 4;
                        i += 12;
                    } else {
                        len += match cp {
                            0..=0x7F => 1,
                            0x80..=0x7FF => 2,
                            _ => 3, // includes a lone surrogate, decoded as U+FFFD
                        };
                        i += 6;
                    }
                } else {
                    len += 1;
                    i += 2;
                }
            }
            _ => {
                len += 1;
                i += 1;
            }
        }
    }
    (len, i)
}

fn hex4(b: &[u8], i: usize) -> u32 {
    let mut v = 0u32;
    for k in 0..4 {
        let d = match b.get(i + k) {
            Some(c @ b'0'..=b'9') => c - b'0',
            Some(c @ b'a'..=b'f') => c - b'a' + 10,
            Some(c @ b'A'..=b'F') => c - b'A' + 10,
            _ => return u32::MAX,
        };
        v = v * 16 + u32::from(d);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: ShapeLimits = ShapeLimits {
        max_depth: 3,
        max_string_bytes: 5,
        max_key_bytes: 3,
        max_top_keys: 2,
    };

    #[test]
    fn accepts_within_limits() {
        assert_eq!(check(r#"{"a":{"b":[1,"xx"]},"c":null}"#, 0, &L), Ok(()));
        assert_eq!(check(r#""hello""#, 0, &L), Ok(()));
        assert_eq!(check("  42 ", 0, &L), Ok(()));
    }

    #[test]
    fn each_violation_has_its_reason() {
        assert_eq!(check(r#"{"a":[[1]]}"#, 0, &L), Ok(()));
        assert_eq!(check(r#"{"a":[[[1]]]}"#, 0, &L), Err(Reason::TooDeep));
        assert_eq!(check(r#"{"a":1}"#, 2, &L), Ok(()));
        assert_eq!(check(r#"{"a":[1]}"#, 2, &L), Err(Reason::TooDeep));
        assert_eq!(
            check(r#"{"a":"123456"}"#, 0, &L),
            Err(Reason::StringTooLong)
        );
        // Escapes count as their decoded bytes: "\u00e9" is 2 bytes of UTF-8.
        assert_eq!(
            check(r#""\u00e9\u00e9\u00e9""#, 0, &L),
            Err(Reason::StringTooLong)
        );
        assert_eq!(check(r#"{"abcd":1}"#, 0, &L), Err(Reason::InvalidKey));
        assert_eq!(check(r#"{"":1}"#, 0, &L), Err(Reason::InvalidKey));
        assert_eq!(
            check(r#"{"a":1,"b":2,"c":3}"#, 0, &L),
            Err(Reason::TooManyProperties)
        );
        // Only the walked object's own keys are counted.
        assert_eq!(check(r#"{"a":{"b":2,"c":3,"d":4}}"#, 0, &L), Ok(()));
        // Keys are told from values by position, also after nested containers.
        assert_eq!(
            check(r#"{"a":{"b":[1]},"cdef":1}"#, 0, &L),
            Err(Reason::InvalidKey)
        );
        assert_eq!(
            check(r#"[{"a":1},"abcdef"]"#, 0, &L),
            Err(Reason::StringTooLong)
        );
        assert_eq!(check(r#"["abcd","x"]"#, 0, &L), Ok(()));
        // Escaped quotes and backslashes do not end a string early.
        assert_eq!(check(r#"{"a":"\"\\\"x"}"#, 0, &L), Ok(()));
        assert_eq!(
            check(r#"{"a":"\"\\\"xyz"}"#, 0, &L),
            Err(Reason::StringTooLong)
        );
        // A surrogate pair is one 4-byte character.
        assert_eq!(check(r#""\ud83d\ude80a""#, 0, &L), Ok(()));
        assert_eq!(
            check(r#""\ud83d\ude80ab""#, 0, &L),
            Err(Reason::StringTooLong)
        );
    }

    #[test]
    fn deep_nesting_is_refused_and_garbage_terminates() {
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        assert_eq!(check(&deep, 0, &L), Err(Reason::TooDeep));
        let big = ShapeLimits {
            max_depth: usize::MAX / 2,
            ..L
        };
        assert_eq!(check(&deep, 0, &big), Ok(()));
        for junk in ["\"\\", "}}]]{", "\"\\u12", ",,,\"", "{\"a\\"] {
            let _ = check(junk, 0, &L);
        }
    }
}
