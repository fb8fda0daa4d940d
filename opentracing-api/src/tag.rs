//! Typed tag values.

use std::borrow::Cow;
use std::fmt;

/// The value of a span tag or a log field.
///
/// OpenTracing allows strings, booleans, numeric types (signed and unsigned integers and
/// floats); every Rust type of those kinds converts into a `TagValue` with [`From`], so
/// `span.set_tag("http.status_code", 200_u16)` and `span.set_tag("error", true)` just work.
///
/// Strings are stored as a [`Cow<'static, str>`], so a `&'static str` is stored without
/// allocating. A borrowed string with a shorter lifetime must be converted with
/// `.to_string()` (or passed as `&String`).
///
/// # Examples
///
/// ```
/// use opentracing_api::TagValue;
///
/// assert_eq!(TagValue::from(true), TagValue::Bool(true));
/// assert_eq!(TagValue::from(-3_i8), TagValue::I64(-3));
/// assert_eq!(TagValue::from(7_u32), TagValue::U64(7));
/// assert_eq!(TagValue::from(1.5_f32), TagValue::F64(1.5));
/// assert_eq!(TagValue::from("GET"), TagValue::String("GET".into()));
/// assert_eq!(TagValue::from(200_u16).to_string(), "200");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum TagValue {
    /// A boolean, for example `error: true`.
    Bool(bool),
    /// A signed integer (every signed Rust integer up to 64 bits converts into it).
    I64(i64),
    /// An unsigned integer (every unsigned Rust integer up to 64 bits converts into it).
    U64(u64),
    /// A floating-point number.
    F64(f64),
    /// A string.
    String(Cow<'static, str>),
}

impl TagValue {
    /// The string, if this is a [`TagValue::String`].
    ///
    /// # Examples
    ///
    /// ```
    /// use opentracing_api::TagValue;
    ///
    /// assert_eq!(TagValue::from("db").as_str(), Some("db"));
    /// assert_eq!(TagValue::from(1_u8).as_str(), None);
    /// ```
    pub fn as_str(&self) -> Option<&str> {
        match self {
            TagValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is a [`TagValue::Bool`].
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            TagValue::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The signed integer, if this is a [`TagValue::I64`].
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            TagValue::I64(v) => Some(*v),
            _ => None,
        }
    }

    /// The unsigned integer, if this is a [`TagValue::U64`].
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            TagValue::U64(v) => Some(*v),
            _ => None,
        }
    }

    /// The float, if this is a [`TagValue::F64`].
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            TagValue::F64(v) => Some(*v),
            _ => None,
        }
    }
}

impl fmt::Display for TagValue {
    /// Writes the bare value: `true`, `-3`, `7`, `1.5`, `GET`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TagValue::Bool(v) => v.fmt(f),
            TagValue::I64(v) => v.fmt(f),
            TagValue::U64(v) => v.fmt(f),
            TagValue::F64(v) => v.fmt(f),
            TagValue::String(v) => f.write_str(v),
        }
    }
}

impl From<bool> for TagValue {
    fn from(value: bool) -> Self {
        TagValue::Bool(value)
    }
}

macro_rules! from_lossless {
    ($variant:ident, $target:ty: $($source:ty),*) => {
        $(
            impl From<$source> for TagValue {
                fn from(value: $source) -> Self {
                    TagValue::$variant(<$target>::from(value))
                }
            }
        )*
    };
}

from_lossless!(I64, i64: i8, i16, i32, i64);
from_lossless!(U64, u64: u8, u16, u32, u64);
from_lossless!(F64, f64: f32, f64);

impl From<isize> for TagValue {
    fn from(value: isize) -> Self {
        // `isize` is at most 64 bits wide on every platform Rust supports.
        TagValue::I64(value as i64)
    }
}

impl From<usize> for TagValue {
    fn from(value: usize) -> Self {
        // `usize` is at most 64 bits wide on every platform Rust supports.
        TagValue::U64(value as u64)
    }
}

impl From<&'static str> for TagValue {
    fn from(value: &'static str) -> Self {
        TagValue::String(Cow::Borrowed(value))
    }
}

impl From<String> for TagValue {
    fn from(value: String) -> Self {
        TagValue::String(Cow::Owned(value))
    }
}

impl From<&String> for TagValue {
    fn from(value: &String) -> Self {
        TagValue::String(Cow::Owned(value.clone()))
    }
}

impl From<Cow<'static, str>> for TagValue {
    fn from(value: Cow<'static, str>) -> Self {
        TagValue::String(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_integers_convert_to_i64() {
        assert_eq!(TagValue::from(i8::MIN), TagValue::I64(-128));
        assert_eq!(TagValue::from(i16::MIN), TagValue::I64(-32_768));
        assert_eq!(TagValue::from(-5_i32), TagValue::I64(-5));
        assert_eq!(TagValue::from(i64::MIN), TagValue::I64(i64::MIN));
        assert_eq!(TagValue::from(-9_isize), TagValue::I64(-9));
    }

    #[test]
    fn unsigned_integers_convert_to_u64() {
        assert_eq!(TagValue::from(u8::MAX), TagValue::U64(255));
        assert_eq!(TagValue::from(u16::MAX), TagValue::U64(65_535));
        assert_eq!(TagValue::from(8_u32), TagValue::U64(8));
        assert_eq!(TagValue::from(u64::MAX), TagValue::U64(u64::MAX));
        assert_eq!(TagValue::from(3_usize), TagValue::U64(3));
    }

    #[test]
    fn floats_bools_and_strings_convert() {
        assert_eq!(TagValue::from(0.25_f32), TagValue::F64(0.25));
        assert_eq!(TagValue::from(2.5_f64), TagValue::F64(2.5));
        assert_eq!(TagValue::from(false), TagValue::Bool(false));
        assert_eq!(
            TagValue::from("static"),
            TagValue::String(Cow::Borrowed("static"))
        );
        let owned = String::from("owned");
        assert_eq!(TagValue::from(&owned), TagValue::String("owned".into()));
        assert_eq!(TagValue::from(owned), TagValue::String("owned".into()));
        assert_eq!(
            TagValue::from(Cow::Borrowed("cow")),
            TagValue::String("cow".into())
        );
    }

    #[test]
    fn static_strings_are_not_copied() {
        assert!(matches!(
            TagValue::from("x"),
            TagValue::String(Cow::Borrowed("x"))
        ));
    }

    #[test]
    fn accessors_return_only_their_own_variant() {
        let b = TagValue::from(true);
        let i = TagValue::from(-1_i64);
        let u = TagValue::from(1_u64);
        let f = TagValue::from(0.5_f64);
        let s = TagValue::from("s");
        assert_eq!(b.as_bool(), Some(true));
        assert_eq!(i.as_i64(), Some(-1));
        assert_eq!(u.as_u64(), Some(1));
        assert_eq!(f.as_f64(), Some(0.5));
        assert_eq!(s.as_str(), Some("s"));
        assert_eq!(b.as_str(), None);
        assert_eq!(s.as_bool(), None);
        assert_eq!(u.as_i64(), None);
        assert_eq!(i.as_u64(), None);
        assert_eq!(s.as_f64(), None);
    }

    #[test]
    fn display_writes_the_bare_value() {
        assert_eq!(TagValue::from(true).to_string(), "true");
        assert_eq!(TagValue::from(-3_i32).to_string(), "-3");
        assert_eq!(TagValue::from(42_u64).to_string(), "42");
        assert_eq!(TagValue::from(1.5_f64).to_string(), "1.5");
        assert_eq!(TagValue::from("GET").to_string(), "GET");
    }
}
