//! JSON text whose identity does not depend on the order a value was
//! built in.
//!
//! Owns: [`SortedKeys`], a `serde_json::Value` serialized with every
//! object's keys sorted. Objects keep their insertion order in this crate
//! (serde_json's `preserve_order`, so that items keep their fields'
//! order into the feeds); what is compared or hashed sorts them, as it
//! did before: [`Request::json`](crate::Request::json)'s body (Scrapy's
//! `JsonRequest` sorts too) and [`DropDuplicates`](crate::stages::DropDuplicates)'
//! keys. Must not: be used for output meant for people (feeds keep the
//! item's order).

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

/// `value` serialized with every object's keys sorted (byte order),
/// nested ones too.
pub(crate) struct SortedKeys<'a>(pub(crate) &'a Value);

impl Serialize for SortedKeys<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(m) => {
                let mut entries: Vec<(&String, &Value)> = m.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, &SortedKeys(v))?;
                }
                map.end()
            }
            Value::Array(a) => s.collect_seq(a.iter().map(SortedKeys)),
            other => other.serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_at_every_level() {
        let v = json!({"z": [{"b": 1, "a": null}], "a": {"y": true, "x": "s"}});
        let text = serde_json::to_string(&SortedKeys(&v)).unwrap();
        assert_eq!(text, r#"{"a":{"x":"s","y":true},"z":[{"a":null,"b":1}]}"#);
        assert_eq!(
            serde_json::to_string(&SortedKeys(&json!(1.5))).unwrap(),
            "1.5"
        );
    }
}
