//! Per-property redaction and hashing, applied to `properties`, `traits` and super properties
//! when an event is built — before it can reach the pending buffer, storage or the network.
//!
//! Rules match a key by exact name at any depth. `hash` replaces the value with the hex SHA-256
//! of `salt ‖ value-as-text` (so a phone number can still be joined on without being stored),
//! `drop` removes the key, `mask` keeps only the last four characters.

use serde_json::{Map, Value};

use super::config::{RedactAction, RedactRule};
use super::sha256::{hex, sha256};

/// The text a value is hashed or masked as: strings as is, anything else as its JSON text.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => {
            let mut out = String::new();
            super::json_write::value(&mut out, other);
            out
        }
    }
}

/// Hex SHA-256 of `salt ‖ value`.
pub fn hash_value(salt: &str, value: &str) -> String {
    hex(&sha256(&[salt.as_bytes(), value.as_bytes()]))
}

fn mask(s: &str) -> String {
    let n = s.chars().count();
    s.chars()
        .enumerate()
        .map(|(i, c)| if i + 4 < n { '*' } else { c })
        .collect()
}

/// Applies `rules` to `map` in place, recursively.
pub fn apply(rules: &[RedactRule], salt: &str, map: &mut Map<String, Value>) {
    if rules.is_empty() {
        return;
    }
    for rule in rules {
        if let Some(v) = map.get(&rule.key) {
            match rule.action {
                RedactAction::Drop => {
                    super::json::remove_key(map, &rule.key);
                }
                RedactAction::Hash if !v.is_null() => {
                    let h = hash_value(salt, &text(v));
                    map.insert(rule.key.clone(), Value::String(h));
                }
                RedactAction::Mask if !v.is_null() => {
                    let m = mask(&text(v));
                    map.insert(rule.key.clone(), Value::String(m));
                }
                _ => {}
            }
        }
    }
    for v in map.values_mut() {
        apply_value(rules, salt, v);
    }
}

fn apply_value(rules: &[RedactRule], salt: &str, v: &mut Value) {
    match v {
        Value::Object(m) => apply(rules, salt, m),
        Value::Array(a) => a.iter_mut().for_each(|x| apply_value(rules, salt, x)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> Vec<RedactRule> {
        vec![
            RedactRule {
                key: "phone".into(),
                action: RedactAction::Hash,
            },
            RedactRule {
                key: "password".into(),
                action: RedactAction::Drop,
            },
            RedactRule {
                key: "card".into(),
                action: RedactAction::Mask,
            },
        ]
    }

    #[test]
    fn hashes_drops_masks_at_any_depth() {
        let mut m = json!({
            "phone": "13800138000",
            "password": "x",
            "card": "6222020200001234",
            "order": {"phone": 13800138000u64, "items": [{"password": 1, "sku": "a"}]},
            "keep": "yes"
        });
        let Value::Object(map) = &mut m else { panic!() };
        apply(&rules(), "", map);
        let h = hash_value("", "13800138000");
        assert_eq!(
            m,
            json!({
                "phone": h,
                "card": "************1234",
                "order": {"phone": h, "items": [{"sku": "a"}]},
                "keep": "yes"
            })
        );
        assert_eq!(
            hash_value("", "abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_ne!(hash_value("salt", "abc"), hash_value("", "abc"));
        assert_eq!(mask("123"), "123");
    }
}
