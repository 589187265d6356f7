//! Per-property redaction and hashing, applied to `properties`, `traits` and super properties
//! when an event is built — before it can reach the pending buffer, storage or the network.
//!
//! Rules match a key by exact name at any depth. `hash` replaces the value with the hex SHA-256
//! of `salt ‖ value-as-text` (so a phone number can still be joined on without being stored),
//! `drop` removes the key, `mask` keeps only the last four characters.

use super::jv::{Json, Obj};

use super::config::{RedactAction, RedactRule};
use super::sha256::{hex, sha256};

/// The text a value is hashed or masked as: strings as is, anything else as its JSON text,
/// with object keys sorted at every depth — the text earlier versions hashed (they held objects
/// sorted), so a hashed object value still joins across versions.
fn text(v: &Json) -> String {
    match v {
        Json::Str(s) => s.clone(),
        other => {
            let mut out = String::new();
            super::json_write::sorted_value(&mut out, other);
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
pub fn apply(rules: &[RedactRule], salt: &str, map: &mut Obj) {
    if rules.is_empty() {
        return;
    }
    for rule in rules {
        if let Some(v) = map.get(&rule.key) {
            match rule.action {
                RedactAction::Drop => {
                    map.remove(&rule.key);
                }
                RedactAction::Hash if !v.is_null() => {
                    let h = hash_value(salt, &text(v));
                    map.insert(rule.key.clone(), Json::Str(h));
                }
                RedactAction::Mask if !v.is_null() => {
                    let m = mask(&text(v));
                    map.insert(rule.key.clone(), Json::Str(m));
                }
                _ => {}
            }
        }
    }
    for v in map.values_mut() {
        apply_value(rules, salt, v);
    }
}

fn apply_value(rules: &[RedactRule], salt: &str, v: &mut Json) {
    match v {
        Json::Obj(m) => apply(rules, salt, m),
        Json::Arr(a) => a.iter_mut().for_each(|x| apply_value(rules, salt, x)),
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
        let mut m = Json::from(json!({
            "phone": "13800138000",
            "password": "x",
            "card": "6222020200001234",
            "order": {"phone": 13800138000u64, "items": [{"password": 1, "sku": "a"}]},
            "keep": "yes"
        }));
        let Json::Obj(map) = &mut m else { panic!() };
        apply(&rules(), "", map);
        let h = hash_value("", "13800138000");
        assert_eq!(
            m,
            Json::from(json!({
                "phone": h,
                "card": "************1234",
                "order": {"phone": h, "items": [{"sku": "a"}]},
                "keep": "yes"
            }))
        );
        assert_eq!(
            hash_value("", "abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_ne!(hash_value("salt", "abc"), hash_value("", "abc"));
        assert_eq!(mask("123"), "123");
    }

    #[test]
    fn an_object_value_hashes_as_its_sorted_text() {
        // What earlier versions hashed: serde_json's text of a sorted map.
        let v = json!({"b": [1, {"d": true, "c": null}], "a": "x"});
        let legacy = serde_json::to_string(&v).unwrap();
        let insertion: Obj = [
            (
                "b".to_owned(),
                Json::from(json!([1, {"d": true, "c": null}])),
            ),
            ("a".to_owned(), Json::from("x")),
        ]
        .into_iter()
        .collect();
        let mut m: Obj = [("o".to_owned(), Json::Obj(insertion))]
            .into_iter()
            .collect();
        let rules = vec![RedactRule {
            key: "o".into(),
            action: RedactAction::Hash,
        }];
        apply(&rules, "s", &mut m);
        assert_eq!(m.get("o"), Some(&Json::Str(hash_value("s", &legacy))));
    }
}
