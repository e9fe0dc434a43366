//! [`Bytes`]: binary-safe bytes that stay readable in JSON.
//!
//! Valid UTF-8 is written as a plain JSON string, so messages, journals and
//! (later) fixtures diff well in review; anything else is written as
//! `{"base64": "…"}`, losslessly. Readers accept both forms.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The key that marks base64-encoded bytes.
pub const BASE64_KEY: &str = "base64";

/// Bytes that serialise as text when they are UTF-8 and as base64 otherwise.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bytes(pub Vec<u8>);

impl Bytes {
    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// The bytes as text, with invalid UTF-8 replaced.
    pub fn lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", quote(&self.0))
    }
}

/// `'text'` with control characters and invalid UTF-8 escaped, for reports.
pub fn quote(bytes: &[u8]) -> String {
    let mut out = String::from("'");
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\'' => out.push_str("\\'"),
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => out.extend(c.escape_default()),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out.push('\'');
    out
}

impl From<Vec<u8>> for Bytes {
    fn from(value: Vec<u8>) -> Self {
        Self(value)
    }
}

impl From<&[u8]> for Bytes {
    fn from(value: &[u8]) -> Self {
        Self(value.to_vec())
    }
}

impl From<&str> for Bytes {
    fn from(value: &str) -> Self {
        Self(value.as_bytes().to_vec())
    }
}

impl From<String> for Bytes {
    fn from(value: String) -> Self {
        Self(value.into_bytes())
    }
}

impl From<&String> for Bytes {
    fn from(value: &String) -> Self {
        Self(value.as_bytes().to_vec())
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            Ok(text) => serializer.serialize_str(text),
            Err(_) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry(BASE64_KEY, &STANDARD.encode(&self.0))?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BytesVisitor;
        impl<'de> Visitor<'de> for BytesVisitor {
            type Value = Bytes;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or {\"base64\": \"…\"}")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Bytes, E> {
                Ok(Bytes(v.as_bytes().to_vec()))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Bytes, E> {
                Ok(Bytes(v.into_bytes()))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Bytes, A::Error> {
                let mut decoded = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key != BASE64_KEY {
                        return Err(de::Error::unknown_field(&key, &[BASE64_KEY]));
                    }
                    let text: String = map.next_value()?;
                    decoded = Some(STANDARD.decode(text.as_bytes()).map_err(de::Error::custom)?);
                }
                decoded.map(Bytes).ok_or_else(|| de::Error::missing_field(BASE64_KEY))
            }
        }
        deserializer.deserialize_any(BytesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_stays_text_and_binary_round_trips_through_base64() {
        let text = Bytes::from("héllo\n");
        assert_eq!(serde_json::to_string(&text).expect("json"), "\"héllo\\n\"");
        let binary = Bytes(vec![0, 159, 146, 150, 255]);
        let json = serde_json::to_string(&binary).expect("json");
        assert_eq!(json, r#"{"base64":"AJ+Slv8="}"#);
        let back: Bytes = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, binary);
    }

    #[test]
    fn quote_escapes_what_a_terminal_would_hide() {
        assert_eq!(quote(b"a b"), "'a b'");
        assert_eq!(quote(b"x\ny\t'"), "'x\\ny\\t\\''");
        assert_eq!(quote(&[b'v', 0xff]), "'v\\xff'");
    }

    #[test]
    fn an_unknown_key_is_refused() {
        let err = serde_json::from_str::<Bytes>(r#"{"hex":"00"}"#).expect_err("refused");
        assert!(err.to_string().contains("unknown field `hex`"), "{err}");
    }
}
