//! Carriers: where a tracer writes a span context to ([`Injector`]) and reads it from
//! ([`Extractor`]) in the `TextMap` and `HttpHeaders` formats.
//!
//! Both traits are implemented for `HashMap<String, String>`, `BTreeMap<String, String>`
//! and [`http::HeaderMap`]; implement them for your own request types (a message's
//! attributes, a gRPC metadata map, ...).
//!
//! The `Binary` format's carriers are plain bytes: `Vec<u8>` to inject into, `&[u8]` to
//! extract from (see [`Binary`](crate::Binary)).

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::CarrierError;

/// A carrier a tracer can write string key/value pairs into.
///
/// # Examples
///
/// ```
/// use opentracing_api::{CarrierError, Injector};
///
/// /// Message attributes with a length limit.
/// struct Attributes(Vec<(String, String)>);
///
/// impl Injector for Attributes {
///     fn set(&mut self, key: &str, value: &str) -> Result<(), CarrierError> {
///         if value.len() > 64 {
///             return Err(CarrierError::new(key, "value longer than 64 bytes"));
///         }
///         self.0.retain(|(k, _)| k != key);
///         self.0.push((key.to_string(), value.to_string()));
///         Ok(())
///     }
/// }
///
/// let mut attributes = Attributes(Vec::new());
/// attributes.set("k", "v")?;
/// assert_eq!(attributes.0, [("k".to_string(), "v".to_string())]);
/// # Ok::<(), CarrierError>(())
/// ```
pub trait Injector {
    /// Sets `key` to `value`, replacing any earlier value.
    ///
    /// # Errors
    ///
    /// [`CarrierError`] if the carrier cannot hold this key or value (for an
    /// [`http::HeaderMap`]: a key that is not a valid header name, or a value that is not a
    /// valid header value).
    fn set(&mut self, key: &str, value: &str) -> Result<(), CarrierError>;
}

/// A carrier a tracer can read string key/value pairs from.
pub trait Extractor {
    /// The value of `key`, compared exactly (an [`http::HeaderMap`] compares header names
    /// case-insensitively).
    fn get(&self, key: &str) -> Option<&str>;

    /// Every key of the carrier.
    fn keys(&self) -> Vec<&str>;

    /// The value of `key`, compared ignoring ASCII case: how a tracer reads the
    /// `HttpHeaders` format, whose header names are case-insensitive.
    ///
    /// The default tries [`get`](Extractor::get) first, then searches
    /// [`keys`](Extractor::keys).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use opentracing_api::Extractor;
    ///
    /// let headers = HashMap::from([("X-Trace-Id".to_string(), "7".to_string())]);
    /// assert_eq!(headers.get("x-trace-id"), None);
    /// assert_eq!(headers.get_ignore_ascii_case("x-trace-id"), Some("7"));
    /// ```
    fn get_ignore_ascii_case(&self, key: &str) -> Option<&str> {
        if let Some(value) = self.get(key) {
            return Some(value);
        }
        let found = self
            .keys()
            .into_iter()
            .find(|k| k.eq_ignore_ascii_case(key))?;
        self.get(found)
    }
}

impl<S: BuildHasher> Injector for HashMap<String, String, S> {
    fn set(&mut self, key: &str, value: &str) -> Result<(), CarrierError> {
        self.insert(key.to_string(), value.to_string());
        Ok(())
    }
}

impl<S: BuildHasher> Extractor for HashMap<String, String, S> {
    fn get(&self, key: &str) -> Option<&str> {
        HashMap::get(self, key).map(String::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        HashMap::keys(self).map(String::as_str).collect()
    }
}

impl Injector for BTreeMap<String, String> {
    fn set(&mut self, key: &str, value: &str) -> Result<(), CarrierError> {
        self.insert(key.to_string(), value.to_string());
        Ok(())
    }
}

impl Extractor for BTreeMap<String, String> {
    fn get(&self, key: &str) -> Option<&str> {
        BTreeMap::get(self, key).map(String::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        BTreeMap::keys(self).map(String::as_str).collect()
    }
}

/// Header names are stored lowercase (as HTTP/2 requires); values must be valid header
/// values (visible ASCII, spaces and tabs). A tracer should percent-encode free-form values
/// such as baggage.
impl Injector for HeaderMap {
    fn set(&mut self, key: &str, value: &str) -> Result<(), CarrierError> {
        let name = HeaderName::from_bytes(key.as_bytes())
            .map_err(|e| CarrierError::new(key, format!("invalid header name: {e}")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|e| CarrierError::new(key, format!("invalid header value: {e}")))?;
        self.insert(name, value);
        Ok(())
    }
}

/// Header names are compared case-insensitively. A value that is not valid UTF-8 reads as
/// absent; of a repeated header, the first value is read.
impl Extractor for HeaderMap {
    fn get(&self, key: &str) -> Option<&str> {
        HeaderMap::get(self, key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        HeaderMap::keys(self).map(HeaderName::as_str).collect()
    }

    fn get_ignore_ascii_case(&self, key: &str) -> Option<&str> {
        Extractor::get(self, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip<C: Injector + Extractor>(mut carrier: C) {
        carrier.set("a", "1").unwrap();
        carrier.set("b", "2").unwrap();
        carrier.set("a", "3").unwrap();
        assert_eq!(carrier.get("a"), Some("3"));
        assert_eq!(carrier.get("b"), Some("2"));
        assert_eq!(carrier.get("c"), None);
        let mut keys = carrier.keys();
        keys.sort_unstable();
        assert_eq!(keys, ["a", "b"]);
    }

    #[test]
    fn hash_map_sets_and_gets() {
        roundtrip(HashMap::new());
    }

    #[test]
    fn btree_map_sets_and_gets() {
        roundtrip(BTreeMap::new());
    }

    #[test]
    fn header_map_sets_and_gets() {
        roundtrip(HeaderMap::new());
    }

    #[test]
    fn header_map_names_are_case_insensitive() {
        let mut headers = HeaderMap::new();
        headers.set("X-Mixed-Case", "v").unwrap();
        assert_eq!(headers.keys().collect::<Vec<_>>(), ["x-mixed-case"]);
        assert_eq!(Extractor::get(&headers, "X-MIXED-CASE"), Some("v"));
        assert_eq!(headers.get_ignore_ascii_case("x-MIXED-case"), Some("v"));
    }

    #[test]
    fn header_map_rejects_invalid_names_and_values() {
        let mut headers = HeaderMap::new();
        let err = headers.set("bad name", "v").unwrap_err();
        assert_eq!(err.key, "bad name");
        assert!(err.reason.starts_with("invalid header name"), "{err}");
        let err = headers.set("ok", "line\nbreak").unwrap_err();
        assert_eq!(err.key, "ok");
        assert!(err.reason.starts_with("invalid header value"), "{err}");
        assert!(headers.is_empty());
    }

    #[test]
    fn header_map_skips_non_utf8_values() {
        let mut headers = HeaderMap::new();
        headers.insert("k", HeaderValue::from_bytes(&[0xFF]).unwrap());
        assert_eq!(Extractor::get(&headers, "k"), None);
    }

    #[test]
    fn maps_match_ignoring_case_only_on_request() {
        let mut map = BTreeMap::new();
        map.set("Ot-Key", "v").unwrap();
        assert_eq!(Extractor::get(&map, "ot-key"), None);
        assert_eq!(map.get_ignore_ascii_case("OT-KEY"), Some("v"));
        assert_eq!(map.get_ignore_ascii_case("other"), None);
    }
}
