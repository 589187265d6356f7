//! Zero-allocation walk over a JSON value's text that enforces nesting depth, string length,
//! key length and (for one object level) key count, without building a tree.
//!
//! It drives serde_json's parser through a visitor that only measures; the first violation is
//! recorded and aborts the parse, so a hostile value costs at most one pass over its bytes.

use core::cell::Cell;
use core::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

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

/// Checks `json` (the text of one JSON value) against `limits`. `depth` is the container level
/// of the value's parent (0 for a document root). Returns the first violated [`Reason`]
/// (`TooDeep`, `StringTooLong`, `InvalidKey`, `TooManyProperties`) or `InvalidJson` when the
/// text does not parse.
pub fn check(json: &str, depth: usize, limits: &ShapeLimits) -> Result<(), Reason> {
    let violation = Cell::new(None);
    let walker = Walker {
        limits,
        depth,
        count_keys: true,
        violation: &violation,
    };
    let mut de = serde_json::Deserializer::from_str(json);
    // serde_json's own recursion limit (128) stays on as a backstop for huge max_depth values.
    let res = walker.deserialize(&mut de).and_then(|()| de.end());
    match (res, violation.get()) {
        (_, Some(reason)) => Err(reason),
        (Ok(()), None) => Ok(()),
        (Err(_), None) => Err(Reason::InvalidJson),
    }
}

struct Walker<'s> {
    limits: &'s ShapeLimits,
    depth: usize,
    count_keys: bool,
    violation: &'s Cell<Option<Reason>>,
}

impl Walker<'_> {
    fn fail<E: de::Error>(&self, reason: Reason) -> E {
        self.violation.set(Some(reason));
        E::custom(reason.as_str())
    }
    fn child(&self) -> Walker<'_> {
        Walker {
            limits: self.limits,
            depth: self.depth + 1,
            count_keys: false,
            violation: self.violation,
        }
    }
    fn string<E: de::Error>(&self, v: &str) -> Result<(), E> {
        if v.len() > self.limits.max_string_bytes {
            return Err(self.fail(Reason::StringTooLong));
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Walker<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walker<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.string(v)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.depth + 1 > self.limits.max_depth {
            return Err(self.fail(Reason::TooDeep));
        }
        while seq.next_element_seed(self.child())?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if self.depth + 1 > self.limits.max_depth {
            return Err(self.fail(Reason::TooDeep));
        }
        let mut keys = 0usize;
        while map
            .next_key_seed(KeyCheck {
                max: self.limits.max_key_bytes,
                violation: self.violation,
            })?
            .is_some()
        {
            keys += 1;
            if self.count_keys && keys > self.limits.max_top_keys {
                return Err(self.fail(Reason::TooManyProperties));
            }
            map.next_value_seed(self.child())?;
        }
        Ok(())
    }
}

struct KeyCheck<'s> {
    max: usize,
    violation: &'s Cell<Option<Reason>>,
}

impl<'de> DeserializeSeed<'de> for KeyCheck<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeyCheck<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        if v.is_empty() || v.len() > self.max {
            self.violation.set(Some(Reason::InvalidKey));
            return Err(E::custom("invalid_key"));
        }
        Ok(())
    }
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
        assert_eq!(check(r#"{"a":"#, 0, &L), Err(Reason::InvalidJson));
        assert_eq!(check(r#"{"a":1} x"#, 0, &L), Err(Reason::InvalidJson));
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        assert_eq!(check(&deep, 0, &L), Err(Reason::TooDeep));
        let big = ShapeLimits {
            max_depth: usize::MAX / 2,
            ..L
        };
        // serde_json's recursion limit catches it before the stack does.
        assert_eq!(check(&deep, 0, &big), Err(Reason::InvalidJson));
    }
}
