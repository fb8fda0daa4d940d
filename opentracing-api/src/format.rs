//! Propagation formats and the carriers they use.
//!
//! | format | marker | inject into | extract from | keys |
//! |---|---|---|---|---|
//! | text map | [`TextMap`] | any [`Injector`] | any [`Extractor`] | compared exactly |
//! | HTTP headers | [`HttpHeaders`] | any [`Injector`] | any [`Extractor`] | case-insensitive, values must be valid header values |
//! | binary | [`Binary`] | `Vec<u8>` | `[u8]` or `Vec<u8>` | an opaque byte string of the tracer's own design |
//!
//! The marker types are what [`Tracer::inject`](crate::Tracer::inject) and
//! [`Tracer::extract`](crate::Tracer::extract) take, so a carrier of the wrong type for a
//! format does not compile. Each turns `(format, carrier)` into an [`InjectCarrier`] or an
//! [`ExtractCarrier`]: the dyn-compatible form a tracer implementation receives. A tracer
//! that does not support a format returns `UnsupportedFormat`.

use std::fmt;

use crate::{Extractor, Injector};

/// The built-in formats, as a value (for errors and for matching).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// Arbitrary string key/value pairs.
    TextMap,
    /// HTTP headers: string key/value pairs whose keys are case-insensitive.
    HttpHeaders,
    /// An opaque byte string.
    Binary,
}

impl Format {
    /// A short name: `text_map`, `http_headers` or `binary`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::TextMap => "text_map",
            Format::HttpHeaders => "http_headers",
            Format::Binary => "binary",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `TextMap` format: string key/value pairs, keys compared exactly.
///
/// # Examples
///
/// ```
/// use std::collections::HashMap;
/// use opentracing_api::{global_tracer, Span, TextMap, Tracer};
///
/// let tracer = global_tracer();
/// let span = tracer.start_span("send");
/// let mut carrier = HashMap::new();
/// tracer.inject(span.context(), TextMap, &mut carrier)?;
/// # Ok::<(), opentracing_api::InjectError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TextMap;

/// The `HttpHeaders` format: string key/value pairs with case-insensitive keys, whose values
/// are valid HTTP header values.
///
/// # Examples
///
/// ```
/// use opentracing_api::http::HeaderMap;
/// use opentracing_api::{global_tracer, ExtractError, HttpHeaders, Tracer};
///
/// let headers = HeaderMap::new();
/// // The no-op tracer never finds a context.
/// let parent = global_tracer().extract(HttpHeaders, &headers);
/// assert_eq!(parent.unwrap_err(), ExtractError::SpanContextNotFound);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct HttpHeaders;

/// The `Binary` format: the tracer's own byte encoding.
///
/// Inject into a `Vec<u8>` (the tracer replaces its contents); extract from a `[u8]` slice
/// or a `Vec<u8>`. An empty carrier means "no context".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Binary;

/// A carrier to inject into, paired with its format: what a tracer implementation
/// receives.
#[derive(Debug)]
#[non_exhaustive]
pub enum InjectCarrier<'a> {
    /// The `TextMap` format.
    TextMap(&'a mut dyn Injector),
    /// The `HttpHeaders` format.
    HttpHeaders(&'a mut dyn Injector),
    /// The `Binary` format; the tracer replaces the vector's contents.
    Binary(&'a mut Vec<u8>),
}

impl InjectCarrier<'_> {
    /// The format of this carrier.
    pub fn format(&self) -> Format {
        match self {
            InjectCarrier::TextMap(_) => Format::TextMap,
            InjectCarrier::HttpHeaders(_) => Format::HttpHeaders,
            InjectCarrier::Binary(_) => Format::Binary,
        }
    }
}

/// A carrier to extract from, paired with its format: what a tracer implementation
/// receives.
#[derive(Debug)]
#[non_exhaustive]
pub enum ExtractCarrier<'a> {
    /// The `TextMap` format.
    TextMap(&'a dyn Extractor),
    /// The `HttpHeaders` format.
    HttpHeaders(&'a dyn Extractor),
    /// The `Binary` format.
    Binary(&'a [u8]),
}

impl ExtractCarrier<'_> {
    /// The format of this carrier.
    pub fn format(&self) -> Format {
        match self {
            ExtractCarrier::TextMap(_) => Format::TextMap,
            ExtractCarrier::HttpHeaders(_) => Format::HttpHeaders,
            ExtractCarrier::Binary(_) => Format::Binary,
        }
    }
}

impl fmt::Debug for dyn Injector + '_ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Injector")
    }
}

impl fmt::Debug for dyn Extractor + '_ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.keys()).finish()
    }
}

/// A format that can inject into a carrier of type `C`.
///
/// Implemented by [`TextMap`] and [`HttpHeaders`] for every [`Injector`], and by [`Binary`]
/// for `Vec<u8>`.
pub trait InjectFormat<C: ?Sized> {
    /// Pairs the carrier with this format.
    fn inject_carrier(self, carrier: &mut C) -> InjectCarrier<'_>;
}

/// A format that can extract from a carrier of type `C`.
///
/// Implemented by [`TextMap`] and [`HttpHeaders`] for every [`Extractor`], and by
/// [`Binary`] for `[u8]` and `Vec<u8>`.
pub trait ExtractFormat<C: ?Sized> {
    /// Pairs the carrier with this format.
    fn extract_carrier(self, carrier: &C) -> ExtractCarrier<'_>;
}

impl<C: Injector> InjectFormat<C> for TextMap {
    fn inject_carrier(self, carrier: &mut C) -> InjectCarrier<'_> {
        InjectCarrier::TextMap(carrier)
    }
}

impl<C: Injector> InjectFormat<C> for HttpHeaders {
    fn inject_carrier(self, carrier: &mut C) -> InjectCarrier<'_> {
        InjectCarrier::HttpHeaders(carrier)
    }
}

impl InjectFormat<Vec<u8>> for Binary {
    fn inject_carrier(self, carrier: &mut Vec<u8>) -> InjectCarrier<'_> {
        InjectCarrier::Binary(carrier)
    }
}

impl<C: Extractor> ExtractFormat<C> for TextMap {
    fn extract_carrier(self, carrier: &C) -> ExtractCarrier<'_> {
        ExtractCarrier::TextMap(carrier)
    }
}

impl<C: Extractor> ExtractFormat<C> for HttpHeaders {
    fn extract_carrier(self, carrier: &C) -> ExtractCarrier<'_> {
        ExtractCarrier::HttpHeaders(carrier)
    }
}

impl ExtractFormat<[u8]> for Binary {
    fn extract_carrier(self, carrier: &[u8]) -> ExtractCarrier<'_> {
        ExtractCarrier::Binary(carrier)
    }
}

impl ExtractFormat<Vec<u8>> for Binary {
    fn extract_carrier(self, carrier: &Vec<u8>) -> ExtractCarrier<'_> {
        ExtractCarrier::Binary(carrier)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn markers_pair_carriers_with_their_format() {
        let mut map: HashMap<String, String> = HashMap::new();
        let mut bytes = Vec::new();
        assert_eq!(TextMap.inject_carrier(&mut map).format(), Format::TextMap);
        assert_eq!(
            HttpHeaders.inject_carrier(&mut map).format(),
            Format::HttpHeaders
        );
        assert_eq!(Binary.inject_carrier(&mut bytes).format(), Format::Binary);
        assert_eq!(TextMap.extract_carrier(&map).format(), Format::TextMap);
        assert_eq!(
            HttpHeaders.extract_carrier(&map).format(),
            Format::HttpHeaders
        );
        assert_eq!(Binary.extract_carrier(&bytes).format(), Format::Binary);
        assert_eq!(Binary.extract_carrier(&bytes[..]).format(), Format::Binary);
    }

    #[test]
    fn names() {
        assert_eq!(Format::TextMap.to_string(), "text_map");
        assert_eq!(Format::HttpHeaders.to_string(), "http_headers");
        assert_eq!(Format::Binary.as_str(), "binary");
    }

    #[test]
    fn debug_shows_extractor_keys() {
        let map = HashMap::from([("k".to_string(), "v".to_string())]);
        assert_eq!(
            format!("{:?}", TextMap.extract_carrier(&map)),
            r#"TextMap(["k"])"#
        );
        let mut map = map;
        assert_eq!(
            format!("{:?}", HttpHeaders.inject_carrier(&mut map)),
            "HttpHeaders(Injector)"
        );
    }
}
