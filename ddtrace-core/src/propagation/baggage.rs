//! The `baggage` style: W3C `baggage: k=v,k2=v2`, percent-encoded, at most 64 items and 8192
//! bytes.
//!
//! Extraction (as the reference): items past the 64th, or that would take the header past 8192
//! bytes, are dropped (counted as truncated); an item without `=`, or with an empty key or value
//! after trimming and decoding, makes the whole header malformed: no baggage at all. Injection
//! drops items past the limits the same way. Keys and values are trimmed and percent-encoded
//! except for the characters W3C allows, `%` itself excepted (so every value round-trips; the
//! reference leaves `%` as is).

use crate::span_data::TagMap;

use super::stats::{MalformedReason, record, shown};
use super::{
    BAGGAGE_MAX_BYTES, BAGGAGE_MAX_ITEMS, Extractor, HeaderKey, Injector, PropagationStyle, exact,
};

static BAGGAGE: HeaderKey = HeaderKey::new("baggage");
const STYLE: PropagationStyle = PropagationStyle::Baggage;

/// What W3C allows unencoded in a key and a value, but `%`: a literal `%` is escaped, or a
/// value such as `a%41` would not come back as it was.
const KEY_SAFE: &[u8] = b"!#$&'*+-.^_`|~";
const VALUE_SAFE: &[u8] = b"!#$&'()*+-./:<>?@[]^_`{|}~";

/// Appends `s` to `out`, each byte neither alphanumeric nor in `safe` as `%XX`.
fn percent_encode_into(out: &mut String, s: &str, safe: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || safe.contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(DIGITS[usize::from(b >> 4)]));
            out.push(char::from(DIGITS[usize::from(b & 0xf)]));
        }
    }
}

#[cfg(test)]
fn percent_encode(s: &str, safe: &[u8]) -> String {
    let mut out = String::new();
    percent_encode_into(&mut out, s, safe);
    out
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Percent-decodes like Python's `urllib.parse.unquote`: invalid escapes stay as they are,
/// invalid UTF-8 becomes U+FFFD.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex_value),
                bytes.get(i + 2).copied().and_then(hex_value),
            )
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads the `baggage` header; empty when absent or malformed.
pub(crate) fn extract(carrier: &dyn Extractor) -> TagMap<String> {
    let Some(header) = carrier.get_list(&BAGGAGE).filter(|h| !h.is_empty()) else {
        return TagMap::new();
    };
    let header: &str = &header;
    let mut out = TagMap::new();
    let mut total = 0usize;
    let items: Vec<&str> = header.split(',').collect();
    for (index, item) in items.iter().enumerate() {
        if index >= BAGGAGE_MAX_ITEMS {
            record(
                STYLE,
                MalformedReason::BaggageTruncated,
                format_args!(
                    "over {BAGGAGE_MAX_ITEMS} items; {} dropped",
                    items.len() - BAGGAGE_MAX_ITEMS
                ),
            );
            break;
        }
        let Some((key, value)) = item.split_once('=') else {
            record(
                STYLE,
                MalformedReason::BaggageMalformed,
                format_args!("the item {} has no '='; all baggage dropped", shown(item)),
            );
            return TagMap::new();
        };
        let segment = item.len() + usize::from(!out.is_empty());
        if total + segment > BAGGAGE_MAX_BYTES {
            record(
                STYLE,
                MalformedReason::BaggageTruncated,
                format_args!("over {BAGGAGE_MAX_BYTES} bytes; the items from {index} on dropped"),
            );
            break;
        }
        let key = percent_decode(key.trim());
        let value = percent_decode(value.trim());
        if key.is_empty() || value.is_empty() {
            record(
                STYLE,
                MalformedReason::BaggageMalformed,
                format_args!(
                    "the item {} has an empty key or value; all baggage dropped",
                    shown(item)
                ),
            );
            return TagMap::new();
        }
        out.insert(key, value);
        total += segment;
    }
    out
}

/// Writes the `baggage` header (nothing when there is no baggage).
pub(crate) fn inject(baggage: &TagMap<String>, carrier: &mut dyn Injector) {
    if baggage.is_empty() {
        return;
    }
    if baggage.len() > BAGGAGE_MAX_ITEMS {
        crate::log::debug!(
            "propagation: baggage: {} items, only the first {BAGGAGE_MAX_ITEMS} are injected",
            baggage.len()
        );
    }
    let mut header = String::new();
    let mut item = String::new();
    for (k, v) in baggage.iter().take(BAGGAGE_MAX_ITEMS) {
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() || v.is_empty() {
            // The receiver would reject the whole header for it.
            crate::log::debug!("propagation: baggage: skipping {k:?}={v:?} (empty once trimmed)");
            continue;
        }
        item.clear();
        percent_encode_into(&mut item, k, KEY_SAFE);
        item.push('=');
        percent_encode_into(&mut item, v, VALUE_SAFE);
        let extra = item.len() + usize::from(!header.is_empty());
        if header.len() + extra > BAGGAGE_MAX_BYTES {
            crate::log::debug!(
                "propagation: baggage: over {BAGGAGE_MAX_BYTES} bytes; the remaining items are not injected"
            );
            break;
        }
        if !header.is_empty() {
            header.push(',');
        }
        header.push_str(&item);
    }
    if !header.is_empty() {
        carrier.set_key(&BAGGAGE, exact(header));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_coding() {
        assert_eq!(percent_encode("a b,c=é", VALUE_SAFE), "a%20b%2Cc%3D%C3%A9");
        assert_eq!(percent_encode("user.id", KEY_SAFE), "user.id");
        assert_eq!(percent_decode("a%20b%2Cc%3D%C3%A9"), "a b,c=é");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%FF"), "\u{FFFD}");
    }
}
