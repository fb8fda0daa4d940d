//! The standard log field keys of the OpenTracing semantic conventions.
//!
//! | key | type | meaning |
//! |---|---|---|
//! | [`EVENT`] | string | a stable identifier of the moment logged (`"error"`, `"cache miss"`, ...) |
//! | [`ERROR_KIND`] | string | the type or kind of an error (`"Timeout"`, `"io::Error"`, ...) |
//! | [`ERROR_OBJECT`] | string | the error itself, formatted |
//! | [`MESSAGE`] | string | a concise, human-readable description of the event |
//! | [`STACK`] | string | a stack trace |
//!
//! # Examples
//!
//! ```
//! use opentracing_api::{global_tracer, log_fields, tags, LogField};
//!
//! let mut span = global_tracer().start_span("read");
//! span.set_tag(tags::ERROR, true);
//! span.log([
//!     LogField::new(log_fields::EVENT, "error"),
//!     LogField::new(log_fields::ERROR_KIND, "Timeout"),
//!     LogField::new(log_fields::MESSAGE, "no reply in 5s"),
//! ]);
//! ```

/// `event`: a stable identifier of the moment logged.
pub const EVENT: &str = "event";
/// `error.kind`: the type or kind of an error.
pub const ERROR_KIND: &str = "error.kind";
/// `error.object`: the error itself, formatted.
pub const ERROR_OBJECT: &str = "error.object";
/// `message`: a concise, human-readable description of the event.
pub const MESSAGE: &str = "message";
/// `stack`: a stack trace.
pub const STACK: &str = "stack";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_the_semantic_conventions() {
        assert_eq!(
            [EVENT, ERROR_KIND, ERROR_OBJECT, MESSAGE, STACK],
            ["event", "error.kind", "error.object", "message", "stack"]
        );
    }
}
