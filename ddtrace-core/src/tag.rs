//! Tag values: strings go to a span's `meta`, numbers and booleans to its `metrics`.

use std::fmt;

use crate::span_data::Str;

/// Largest integer magnitude a float holds exactly; bigger integers are kept as strings in `meta`
/// so no digit is lost (as the reference tracer does).
const MAX_EXACT_INT: u64 = 1 << 53;

/// A typed tag value.
///
/// Built with `From`: `&'static str` (no allocation), `String`, `&String`, `Cow<'static, str>`,
/// every integer type, `f32`/`f64` and `bool`. For a borrowed `&str` that is not `'static`, pass
/// `s.to_owned()`.
#[derive(Clone, Debug, PartialEq)]
pub enum TagValue {
    /// A string: goes to `meta`.
    Str(Str),
    /// A signed integer: goes to `metrics` (or `meta` beyond ±2^53).
    I64(i64),
    /// An unsigned integer: goes to `metrics` (or `meta` beyond 2^53).
    U64(u64),
    /// A float: goes to `metrics`.
    F64(f64),
    /// A boolean: goes to `metrics` as 1 or 0.
    Bool(bool),
}

/// Where a tag value is stored on a span.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Stored {
    Meta(Str),
    Metric(f64),
    /// Not representable (NaN or infinite float); the reason for the debug log.
    Rejected(&'static str),
}

impl TagValue {
    /// Where this value goes on a span.
    #[inline]
    pub(crate) fn into_stored(self) -> Stored {
        if let Some(m) = self.as_metric() {
            return Stored::Metric(m);
        }
        match self {
            TagValue::Str(s) => Stored::Meta(s),
            TagValue::I64(i) => Stored::Meta(i.to_string().into()),
            TagValue::U64(u) => Stored::Meta(u.to_string().into()),
            TagValue::F64(_) => Stored::Rejected("a NaN or infinite number cannot be a metric"),
            // Always a metric (above).
            TagValue::Bool(b) => Stored::Metric(if b { 1.0 } else { 0.0 }),
        }
    }

    /// The value as a metric, if it is stored as one: a boolean (1 or 0), an integer within
    /// ±2^53, a finite float.
    #[inline]
    pub(crate) fn as_metric(&self) -> Option<f64> {
        match *self {
            TagValue::Bool(b) => Some(if b { 1.0 } else { 0.0 }),
            TagValue::I64(i) if i.unsigned_abs() <= MAX_EXACT_INT => Some(i as f64),
            TagValue::U64(u) if u <= MAX_EXACT_INT => Some(u as f64),
            TagValue::F64(f) if f.is_finite() => Some(f),
            _ => None,
        }
    }

    /// The value as a string, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            TagValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a float, if it is numeric (booleans are 1 and 0).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            TagValue::I64(i) => Some(i as f64),
            TagValue::U64(u) => Some(u as f64),
            TagValue::F64(f) => Some(f),
            TagValue::Bool(b) => Some(if b { 1.0 } else { 0.0 }),
            TagValue::Str(_) => None,
        }
    }
}

impl fmt::Display for TagValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TagValue::Str(s) => f.write_str(s),
            TagValue::I64(i) => write!(f, "{i}"),
            TagValue::U64(u) => write!(f, "{u}"),
            TagValue::F64(x) => write!(f, "{x}"),
            TagValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl From<&'static str> for TagValue {
    fn from(s: &'static str) -> Self {
        TagValue::Str(Str::Borrowed(s))
    }
}

impl From<String> for TagValue {
    fn from(s: String) -> Self {
        TagValue::Str(Str::Owned(s))
    }
}

impl From<&String> for TagValue {
    fn from(s: &String) -> Self {
        TagValue::Str(Str::Owned(s.clone()))
    }
}

impl From<Str> for TagValue {
    fn from(s: Str) -> Self {
        TagValue::Str(s)
    }
}

macro_rules! from_int {
    ($variant:ident as $target:ty: $($t:ty),*) => {$(
        impl From<$t> for TagValue {
            fn from(v: $t) -> Self {
                TagValue::$variant(v as $target)
            }
        }
    )*};
}
from_int!(I64 as i64: i8, i16, i32, i64, isize);
from_int!(U64 as u64: u8, u16, u32, u64, usize);

impl From<f64> for TagValue {
    fn from(v: f64) -> Self {
        TagValue::F64(v)
    }
}

impl From<f32> for TagValue {
    fn from(v: f32) -> Self {
        TagValue::F64(f64::from(v))
    }
}

impl From<bool> for TagValue {
    fn from(v: bool) -> Self {
        TagValue::Bool(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_stored_where_the_reference_puts_them() {
        assert_eq!(TagValue::from("x").into_stored(), Stored::Meta("x".into()));
        assert_eq!(TagValue::from(2).into_stored(), Stored::Metric(2.0));
        assert_eq!(TagValue::from(2u8).into_stored(), Stored::Metric(2.0));
        assert_eq!(TagValue::from(-7i64).into_stored(), Stored::Metric(-7.0));
        assert_eq!(TagValue::from(1.5f32).into_stored(), Stored::Metric(1.5));
        assert_eq!(TagValue::from(true).into_stored(), Stored::Metric(1.0));
        assert_eq!(TagValue::from(false).into_stored(), Stored::Metric(0.0));
        assert_eq!(
            TagValue::from(u64::MAX).into_stored(),
            Stored::Meta("18446744073709551615".into())
        );
        assert_eq!(
            TagValue::from(i64::MIN).into_stored(),
            Stored::Meta("-9223372036854775808".into())
        );
        assert_eq!(
            TagValue::from(1u64 << 53).into_stored(),
            Stored::Metric(9007199254740992.0)
        );
        assert!(matches!(
            TagValue::from(f64::NAN).into_stored(),
            Stored::Rejected(_)
        ));
        assert!(matches!(
            TagValue::from(f64::INFINITY).into_stored(),
            Stored::Rejected(_)
        ));
    }

    #[test]
    fn static_strings_are_borrowed() {
        match TagValue::from("static") {
            TagValue::Str(Str::Borrowed(s)) => assert_eq!(s, "static"),
            other => panic!("expected a borrowed string, got {other:?}"),
        }
    }
}
