//! Structured span logs: key/value fields with a timestamp.

use std::borrow::Cow;
use std::time::SystemTime;

use crate::TagValue;

/// One key/value pair of a span log.
///
/// Keys are usually one of the standard [`log_fields`](crate::log_fields); values are
/// [`TagValue`]s, so any string, boolean or number converts. A `(key, value)` tuple converts
/// into a `LogField`, which is what [`Span::log`](crate::Span::log) takes.
///
/// # Examples
///
/// ```
/// use opentracing_api::{log_fields, LogField, TagValue};
///
/// let field = LogField::from((log_fields::EVENT, "cache miss"));
/// assert_eq!(field.key, "event");
/// assert_eq!(field.value, TagValue::from("cache miss"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LogField {
    /// The field's key.
    pub key: Cow<'static, str>,
    /// The field's value.
    pub value: TagValue,
}

impl LogField {
    /// A field from a key and a value.
    pub fn new(key: impl Into<Cow<'static, str>>, value: impl Into<TagValue>) -> Self {
        LogField {
            key: key.into(),
            value: value.into(),
        }
    }
}

impl<K, V> From<(K, V)> for LogField
where
    K: Into<Cow<'static, str>>,
    V: Into<TagValue>,
{
    fn from((key, value): (K, V)) -> Self {
        LogField::new(key, value)
    }
}

/// A log entry as a tracer recorded it: its timestamp and its fields, in the order given.
///
/// The `MockTracer` (feature `mock`) records these; vendor tracers may use the type too.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    /// When the logged event happened (the explicit timestamp, or the time of the call).
    pub timestamp: SystemTime,
    /// The logged fields.
    pub fields: Vec<LogField>,
}

impl LogRecord {
    /// The value of the first field named `key`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use opentracing_api::{LogField, LogRecord, TagValue};
    ///
    /// let record = LogRecord {
    ///     timestamp: SystemTime::UNIX_EPOCH,
    ///     fields: vec![LogField::new("event", "retry"), LogField::new("attempt", 2_u8)],
    /// };
    /// assert_eq!(record.field("attempt"), Some(&TagValue::U64(2)));
    /// assert_eq!(record.field("missing"), None);
    /// ```
    pub fn field(&self, key: &str) -> Option<&TagValue> {
        self.fields.iter().find(|f| f.key == key).map(|f| &f.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuples_convert_into_fields() {
        let owned: LogField = (String::from("k"), 5_i32).into();
        assert_eq!(owned.key, "k");
        assert_eq!(owned.value, TagValue::I64(5));
        let borrowed: LogField = ("event", "done").into();
        assert!(matches!(borrowed.key, Cow::Borrowed("event")));
        assert_eq!(borrowed.value, TagValue::String("done".into()));
    }

    #[test]
    fn field_returns_the_first_match() {
        let record = LogRecord {
            timestamp: SystemTime::UNIX_EPOCH,
            fields: vec![LogField::new("a", 1_u8), LogField::new("a", 2_u8)],
        };
        assert_eq!(record.field("a"), Some(&TagValue::U64(1)));
        assert_eq!(record.field("b"), None);
    }
}
