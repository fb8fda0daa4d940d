//! Carriers: the header maps the propagators read from and write to.
//!
//! [`Extractor`] reads headers, [`Injector`] writes them. Both are implemented for
//! `HashMap<String, String>`, `BTreeMap<String, String>` and [`http::HeaderMap`]; implement them
//! for any other map (gRPC metadata, message headers, ...). Header names are matched without
//! regard to ASCII case, and the propagators always write lowercase names.

use std::collections::{BTreeMap, HashMap};

/// Reads headers from a carrier.
pub trait Extractor {
    /// The value of header `key` (given in lowercase), matched without regard to ASCII case.
    /// A header whose value is not text counts as absent.
    fn get(&self, key: &str) -> Option<&str>;

    /// All header names in the carrier.
    fn keys(&self) -> Vec<&str>;
}

/// Writes headers into a carrier.
pub trait Injector {
    /// Sets header `key` (lowercase) to `value`, replacing any previous value of that header
    /// (whatever the case of its name).
    fn set(&mut self, key: &str, value: String);
}

/// Looks `key` up exactly, then without regard to ASCII case.
fn lookup<'a, I>(exact: Option<&'a String>, all: I, key: &str) -> Option<&'a str>
where
    I: IntoIterator<Item = (&'a String, &'a String)>,
{
    if let Some(v) = exact {
        return Some(v.as_str());
    }
    all.into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

impl<S: std::hash::BuildHasher> Extractor for HashMap<String, String, S> {
    fn get(&self, key: &str) -> Option<&str> {
        lookup(HashMap::get(self, key), self.iter(), key)
    }

    fn keys(&self) -> Vec<&str> {
        HashMap::keys(self).map(String::as_str).collect()
    }
}

impl<S: std::hash::BuildHasher> Injector for HashMap<String, String, S> {
    fn set(&mut self, key: &str, value: String) {
        self.retain(|k, _| !k.eq_ignore_ascii_case(key));
        self.insert(key.to_owned(), value);
    }
}

impl Extractor for BTreeMap<String, String> {
    fn get(&self, key: &str) -> Option<&str> {
        lookup(BTreeMap::get(self, key), self.iter(), key)
    }

    fn keys(&self) -> Vec<&str> {
        BTreeMap::keys(self).map(String::as_str).collect()
    }
}

impl Injector for BTreeMap<String, String> {
    fn set(&mut self, key: &str, value: String) {
        self.retain(|k, _| !k.eq_ignore_ascii_case(key));
        self.insert(key.to_owned(), value);
    }
}

impl Extractor for http::HeaderMap {
    fn get(&self, key: &str) -> Option<&str> {
        // HeaderMap names are case-insensitive already; a value that is not visible ASCII
        // (`to_str` fails) counts as absent.
        http::HeaderMap::get(self, key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        http::HeaderMap::keys(self)
            .map(http::HeaderName::as_str)
            .collect()
    }
}

impl Injector for http::HeaderMap {
    fn set(&mut self, key: &str, value: String) {
        let name = match http::HeaderName::from_bytes(key.as_bytes()) {
            Ok(name) => name,
            Err(_) => {
                crate::log::debug!("propagation: cannot set header {key:?}: invalid header name");
                return;
            }
        };
        match http::HeaderValue::from_str(&value) {
            Ok(v) => {
                self.insert(name, v);
            }
            Err(_) => {
                crate::log::debug!(
                    "propagation: cannot set header {key:?}: the value {value:?} is not a valid header value"
                );
            }
        }
    }
}

impl<T: Extractor + ?Sized> Extractor for &T {
    fn get(&self, key: &str) -> Option<&str> {
        (**self).get(key)
    }

    fn keys(&self) -> Vec<&str> {
        (**self).keys()
    }
}

impl<T: Injector + ?Sized> Injector for &mut T {
    fn set(&mut self, key: &str, value: String) {
        (**self).set(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_map_is_case_insensitive() {
        let mut m: HashMap<String, String> = HashMap::new();
        m.insert("X-Datadog-Trace-Id".into(), "1".into());
        assert_eq!(Extractor::get(&m, "x-datadog-trace-id"), Some("1"));
        m.set("x-datadog-trace-id", "2".into());
        assert_eq!(m.len(), 1);
        assert_eq!(Extractor::get(&m, "x-datadog-trace-id"), Some("2"));
    }

    #[test]
    fn btree_map_is_case_insensitive() {
        let mut m: BTreeMap<String, String> = BTreeMap::new();
        m.insert("TRACEPARENT".into(), "x".into());
        assert_eq!(Extractor::get(&m, "traceparent"), Some("x"));
        m.set("traceparent", "y".into());
        assert_eq!(Extractor::keys(&m), ["traceparent"]);
    }

    #[test]
    fn header_map_round_trips_and_skips_bad_values() {
        let mut m = http::HeaderMap::new();
        m.set("x-datadog-origin", "synthetics".into());
        m.set("x-bad", "line\nbreak".into());
        assert_eq!(Extractor::get(&m, "X-Datadog-Origin"), Some("synthetics"));
        assert_eq!(Extractor::get(&m, "x-bad"), None);
        assert_eq!(Extractor::keys(&m), ["x-datadog-origin"]);
    }
}
