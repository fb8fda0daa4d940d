//! The OpenTracing errors, one enum per operation family.
//!
//! | error | [`InjectError`] | [`ExtractError`] | meaning |
//! |---|---|---|---|
//! | `UnsupportedFormat` | yes | yes | the tracer does not implement this format |
//! | `InvalidCarrier` | yes | no | the carrier refused a key or value ([`CarrierError`]) |
//! | `InvalidSpanContext` | yes | no | the context was made by a tracer of another type (erased layer only) |
//! | `SpanContextCorrupted` | no | yes | the carrier holds a context that cannot be decoded |
//! | `SpanContextNotFound` | no | yes | the carrier holds no context at all |
//!
//! Formats are checked against carriers at compile time (see [`InjectFormat`]), so a
//! carrier of the wrong type is not an error that can happen at run time.
//!
//! [`InjectFormat`]: crate::InjectFormat

use crate::Format;

/// A carrier refused a key or a value, for example an [`http::HeaderMap`] given a value
/// with a control character. Returned by [`Injector::set`](crate::Injector::set).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the carrier refused `{key}`: {reason}")]
pub struct CarrierError {
    /// The key being set.
    pub key: String,
    /// Why the carrier refused it.
    pub reason: String,
}

impl CarrierError {
    /// An error for `key`, with a human-readable reason.
    pub fn new(key: impl Into<String>, reason: impl Into<String>) -> Self {
        CarrierError {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

/// Why [`Tracer::inject`](crate::Tracer::inject) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InjectError {
    /// The tracer does not support this format.
    #[error("unsupported format: {0}")]
    UnsupportedFormat(Format),
    /// The carrier refused one of the keys or values.
    #[error("invalid carrier: {0}")]
    InvalidCarrier(#[from] CarrierError),
    /// The span context was created by a tracer of another type. Only the erased layer
    /// ([`BoxedTracer`](crate::BoxedTracer), so the global tracer) returns this: for example
    /// a context created before [`set_global_tracer`](crate::set_global_tracer) replaced the
    /// tracer with one of another type.
    #[error("the span context was created by a tracer of another type")]
    InvalidSpanContext,
}

/// Why [`Tracer::extract`](crate::Tracer::extract) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractError {
    /// The tracer does not support this format.
    #[error("unsupported format: {0}")]
    UnsupportedFormat(Format),
    /// The carrier holds a span context that cannot be decoded (a malformed identifier, a
    /// truncated binary encoding, ...). The string says what is wrong.
    #[error("span context corrupted: {0}")]
    SpanContextCorrupted(String),
    /// The carrier holds no span context: the usual case for a request that starts a trace.
    #[error("span context not found")]
    SpanContextNotFound,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        let carrier = CarrierError::new("k", "bad value");
        assert_eq!(carrier.to_string(), "the carrier refused `k`: bad value");
        assert_eq!(
            InjectError::from(carrier).to_string(),
            "invalid carrier: the carrier refused `k`: bad value"
        );
        assert_eq!(
            InjectError::UnsupportedFormat(Format::Binary).to_string(),
            "unsupported format: binary"
        );
        assert_eq!(
            InjectError::InvalidSpanContext.to_string(),
            "the span context was created by a tracer of another type"
        );
        assert_eq!(
            ExtractError::SpanContextCorrupted("bad id".into()).to_string(),
            "span context corrupted: bad id"
        );
        assert_eq!(
            ExtractError::SpanContextNotFound.to_string(),
            "span context not found"
        );
        assert_eq!(
            ExtractError::UnsupportedFormat(Format::HttpHeaders).to_string(),
            "unsupported format: http_headers"
        );
    }
}
