//! Carriers: the header maps the propagators read from and write to.
//!
//! [`Extractor`] reads headers, [`Injector`] writes them. Both are implemented for
//! `HashMap<String, String>`, `BTreeMap<String, String>` and [`http::HeaderMap`]; implement them
//! for any other map (gRPC metadata, message headers, ...). Header names are matched without
//! regard to ASCII case, and the propagators always write lowercase names.
//!
//! The propagators name their headers with [`HeaderKey`]s: a carrier that can look a name up
//! faster than by its text overrides [`Extractor::get_key`] and [`Injector::set_key`], as the
//! `http::HeaderMap` one does; the others need only `get` and `set`.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crate::span_data::Str;

/// The name of a header the propagators read or write, fixed for the program's lifetime: its
/// lowercase text, and the [`http::HeaderName`] made from it once, so that an
/// `http::HeaderMap` finds or stores the header without parsing its name.
///
/// Only the propagators make these; a carrier receives them in [`Extractor::get_key`] and
/// [`Injector::set_key`] and reads the name with [`as_str`](HeaderKey::as_str).
pub struct HeaderKey {
    name: &'static str,
    http: http::HeaderName,
}

impl HeaderKey {
    /// The key for `name`, a lowercase header name. Evaluated where the propagators declare
    /// their keys (`static`s), so an invalid name fails the build, never a program.
    pub(crate) const fn new(name: &'static str) -> HeaderKey {
        HeaderKey {
            name,
            http: http::HeaderName::from_static(name),
        }
    }

    /// The header name, lowercase.
    pub const fn as_str(&self) -> &'static str {
        self.name
    }

    /// The header name as an [`http::HeaderName`].
    pub fn http_name(&self) -> &http::HeaderName {
        &self.http
    }
}

impl fmt::Display for HeaderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl fmt::Debug for HeaderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HeaderKey({:?})", self.name)
    }
}

/// Reads headers from a carrier.
pub trait Extractor {
    /// The value of header `key` (given in lowercase), matched without regard to ASCII case.
    /// A header whose value is not text counts as absent.
    fn get(&self, key: &str) -> Option<&str>;

    /// All header names in the carrier.
    fn keys(&self) -> Vec<&str>;

    /// [`get`](Self::get) for a header the propagators read: by default, `get` of its name.
    /// A carrier that can find a prepared name faster overrides it (the `http::HeaderMap` one
    /// looks up the [`http_name`](HeaderKey::http_name) instead of parsing the text).
    fn get_key(&self, key: &HeaderKey) -> Option<&str> {
        self.get(key.as_str())
    }

    /// Every value of the list header `key` (`tracestate`, `baggage`), joined with `,`: HTTP
    /// lets a list arrive over several header lines, meaning one comma-separated value. By
    /// default the one value [`get_key`](Self::get_key) finds; a carrier that holds repeated
    /// headers overrides it (the `http::HeaderMap` one does).
    fn get_list(&self, key: &HeaderKey) -> Option<Cow<'_, str>> {
        self.get_key(key).map(Cow::Borrowed)
    }
}

/// Writes headers into a carrier.
pub trait Injector {
    /// Sets header `key` (lowercase) to `value`, replacing any previous value of that header
    /// (whatever the case of its name).
    fn set(&mut self, key: &str, value: String);

    /// [`set`](Self::set) for a header the propagators write, with a value that may be a
    /// constant (a sampling priority, say): by default, `set` of its name and the value made
    /// a `String`. The `http::HeaderMap` carrier keeps the prepared name and a constant value
    /// as they are, and moves an owned value in without copying it.
    fn set_key(&mut self, key: &HeaderKey, value: Str) {
        self.set(key.as_str(), value.into_owned());
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

    fn get_key(&self, key: &HeaderKey) -> Option<&str> {
        // Looked up by the prepared name: a `&str` is parsed (and a copy lowercased) first.
        http::HeaderMap::get(self, key.http_name()).and_then(|v| v.to_str().ok())
    }

    fn get_list(&self, key: &HeaderKey) -> Option<Cow<'_, str>> {
        // An empty line adds no item (joined, it would make an empty one).
        let mut values = self
            .get_all(key.http_name())
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter(|v| !v.trim().is_empty());
        let first = values.next()?;
        let Some(second) = values.next() else {
            return Some(Cow::Borrowed(first));
        };
        let mut joined = format!("{first},{second}");
        for v in values {
            joined.push(',');
            joined.push_str(v);
        }
        Some(Cow::Owned(joined))
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

    fn set_key(&mut self, key: &HeaderKey, value: Str) {
        insert_header(self, key.http_name().clone(), value);
    }
}

/// Inserts `value` under `name`. A constant value's bytes are used where they are; an owned
/// value's become the header value's, uncopied (a `String` with spare capacity costs the
/// `Bytes` made from it a second allocation: the propagators size theirs exactly).
fn insert_header(map: &mut http::HeaderMap, name: http::HeaderName, value: impl Into<Str>) {
    let bytes = match value.into() {
        Str::Borrowed(s) => bytes::Bytes::from_static(s.as_bytes()),
        Str::Owned(s) => bytes::Bytes::from(s),
    };
    match http::HeaderValue::from_maybe_shared(bytes) {
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

    fn get_key(&self, key: &HeaderKey) -> Option<&str> {
        (**self).get_key(key)
    }

    fn get_list(&self, key: &HeaderKey) -> Option<Cow<'_, str>> {
        (**self).get_list(key)
    }
}

impl<T: Injector + ?Sized> Injector for &mut T {
    fn set(&mut self, key: &str, value: String) {
        (**self).set(key, value);
    }

    fn set_key(&mut self, key: &HeaderKey, value: Str) {
        (**self).set_key(key, value);
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

    static TRACE_ID: HeaderKey = HeaderKey::new("x-datadog-trace-id");
    static ORIGIN: HeaderKey = HeaderKey::new("x-datadog-origin");
    static TRACEPARENT: HeaderKey = HeaderKey::new("traceparent");

    #[test]
    fn header_map_takes_prepared_names_and_constant_or_owned_values() {
        let mut m = http::HeaderMap::new();
        m.set_key(&TRACE_ID, Str::Owned("1".into()));
        m.set_key(&TRACEPARENT, Str::Borrowed("00-x"));
        // A value a header cannot carry is left out, without a panic.
        m.set_key(&ORIGIN, Str::Borrowed("line\nbreak"));
        m.set_key(&ORIGIN, Str::Owned("line\rbreak".into()));
        assert_eq!(Extractor::get(&m, "x-datadog-trace-id"), Some("1"));
        assert_eq!(m.get_key(&TRACEPARENT), Some("00-x"));
        assert_eq!(m.get_key(&ORIGIN), None);
        assert_eq!(Extractor::keys(&m), ["x-datadog-trace-id", "traceparent"]);
        // A header already there is replaced, as `set` replaces it.
        m.insert(
            http::HeaderName::from_static("x-datadog-origin"),
            http::HeaderValue::from_static("rum"),
        );
        assert_eq!(m.get_key(&ORIGIN), Some("rum"));
        m.set_key(&TRACE_ID, Str::Borrowed("2"));
        assert_eq!(m.get_key(&TRACE_ID), Some("2"));
        assert_eq!(m.len(), 3);
        assert_eq!(TRACE_ID.to_string(), "x-datadog-trace-id");
        assert_eq!(TRACE_ID.http_name().as_str(), TRACE_ID.as_str());
    }

    #[test]
    fn other_carriers_get_and_set_keys_through_their_names() {
        let mut m: HashMap<String, String> = HashMap::new();
        m.insert("X-Datadog-Trace-Id".into(), "1".into());
        assert_eq!(m.get_key(&TRACE_ID), Some("1"));
        m.set_key(&TRACE_ID, Str::Borrowed("2"));
        assert_eq!(m.len(), 1);
        assert_eq!(m.get("x-datadog-trace-id").map(String::as_str), Some("2"));
        let mut b: BTreeMap<String, String> = BTreeMap::new();
        // Through the impls for references, which forward the keyed methods too.
        <&mut BTreeMap<String, String> as Injector>::set_key(
            &mut &mut b,
            &ORIGIN,
            Str::Owned("synthetics".into()),
        );
        assert_eq!(
            <&BTreeMap<String, String> as Extractor>::get_key(&&b, &ORIGIN),
            Some("synthetics")
        );
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
