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

    /// [`set`](Self::set) for a name known for the program's lifetime (the propagators' header
    /// names are constants): a carrier can then keep the name without copying it, as the
    /// `http::HeaderMap` one does. By default, `set`.
    fn set_static(&mut self, key: &'static str, value: String) {
        self.set(key, value);
    }
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
        match http::HeaderName::from_bytes(key.as_bytes()) {
            Ok(name) => insert_header(self, name, value),
            Err(_) => {
                crate::log::debug!("propagation: cannot set header {key:?}: invalid header name");
            }
        }
    }

    fn set_static(&mut self, key: &'static str, value: String) {
        // `from_static` keeps the name where it is (`from_bytes` copies a name that is not a
        // standard one), but panics on an invalid one: those go through `set`.
        if is_lowercase_token(key) {
            insert_header(self, http::HeaderName::from_static(key), value);
        } else {
            self.set(key, value);
        }
    }
}

/// Whether `key` is a valid header name as `HeaderName::from_static` takes one: lowercase
/// token characters, at least one.
fn is_lowercase_token(key: &str) -> bool {
    !key.is_empty()
        && key.bytes().all(|b| {
            matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'!' | b'#'..=b'\'' | b'*' | b'+' | b'-'
                | b'.' | b'^' | b'_' | b'`' | b'|' | b'~')
        })
}

/// Inserts `value` under `name`; the value's bytes become the header value's, uncopied.
fn insert_header(map: &mut http::HeaderMap, name: http::HeaderName, value: String) {
    match http::HeaderValue::from_maybe_shared(bytes::Bytes::from(value)) {
        Ok(v) => {
            map.insert(name, v);
        }
        Err(_) => {
            crate::log::debug!(
                "propagation: cannot set header {name}: the value is not a valid header value"
            );
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

    fn set_static(&mut self, key: &'static str, value: String) {
        (**self).set_static(key, value);
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
    fn header_map_takes_static_names_and_never_panics_on_bad_ones() {
        let mut m = http::HeaderMap::new();
        m.set_static("x-datadog-trace-id", "1".into());
        m.set_static("traceparent", "00-x".into());
        // Not what `HeaderName::from_static` takes: through `set`, which lowercases a valid
        // name and refuses an invalid one.
        m.set_static("X-Upper", "u".into());
        m.set_static("bad name", "b".into());
        m.set_static("", "e".into());
        m.set_static("x-datadog-origin", "line\nbreak".into());
        assert_eq!(Extractor::get(&m, "x-datadog-trace-id"), Some("1"));
        assert_eq!(Extractor::get(&m, "traceparent"), Some("00-x"));
        assert_eq!(Extractor::get(&m, "x-upper"), Some("u"));
        assert_eq!(
            Extractor::keys(&m),
            ["x-datadog-trace-id", "traceparent", "x-upper"]
        );
        // Replacing, as `set` does.
        m.set_static("x-datadog-trace-id", "2".into());
        assert_eq!(Extractor::get(&m, "x-datadog-trace-id"), Some("2"));
        assert_eq!(m.len(), 3);
        assert!(is_lowercase_token("x-b3-traceid"));
        assert!(is_lowercase_token("a!#$%&'*+-.^_`|~9"));
        for bad in ["", "A", "a b", "a:b", "a\"b", "é"] {
            assert!(!is_lowercase_token(bad), "{bad:?}");
        }
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
