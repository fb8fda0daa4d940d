//! The `MockTracer`'s inject / extract encodings (documented on `MockTracer`).

use std::collections::BTreeMap;

use super::{MockSpanContext, MockTracer};
use crate::{
    CarrierError, ExtractCarrier, ExtractError, Extractor, InjectCarrier, InjectError, Injector,
};

/// The version byte of the binary encoding.
const BINARY_VERSION: u8 = 1;

pub(super) fn inject(
    context: &MockSpanContext,
    carrier: InjectCarrier<'_>,
) -> Result<(), InjectError> {
    match carrier {
        InjectCarrier::TextMap(carrier) => inject_text(context, carrier, false),
        InjectCarrier::HttpHeaders(carrier) => inject_text(context, carrier, true),
        InjectCarrier::Binary(bytes) => inject_binary(context, bytes),
    }
}

pub(super) fn extract(carrier: ExtractCarrier<'_>) -> Result<MockSpanContext, ExtractError> {
    match carrier {
        ExtractCarrier::TextMap(carrier) => extract_text(carrier, false),
        ExtractCarrier::HttpHeaders(carrier) => extract_text(carrier, true),
        ExtractCarrier::Binary(bytes) => extract_binary(bytes),
    }
}

fn inject_text(
    context: &MockSpanContext,
    carrier: &mut dyn Injector,
    http: bool,
) -> Result<(), InjectError> {
    carrier.set(MockTracer::TRACE_ID_KEY, &context.trace_id.to_string())?;
    carrier.set(MockTracer::SPAN_ID_KEY, &context.span_id.to_string())?;
    for (key, value) in &context.baggage {
        let key = format!("{}{key}", MockTracer::BAGGAGE_KEY_PREFIX);
        if http {
            carrier.set(&key, &percent_encode(value))?;
        } else {
            carrier.set(&key, value)?;
        }
    }
    Ok(())
}

fn extract_text(carrier: &dyn Extractor, http: bool) -> Result<MockSpanContext, ExtractError> {
    let mut trace_id = None;
    let mut span_id = None;
    let mut baggage = BTreeMap::new();
    for key in carrier.keys() {
        let Some(value) = carrier.get(key) else {
            continue;
        };
        let normalized = if http {
            key.to_ascii_lowercase()
        } else {
            key.to_string()
        };
        if normalized == MockTracer::TRACE_ID_KEY {
            trace_id = Some(parse_id("trace id", value)?);
        } else if normalized == MockTracer::SPAN_ID_KEY {
            span_id = Some(parse_id("span id", value)?);
        } else if let Some(name) = normalized.strip_prefix(MockTracer::BAGGAGE_KEY_PREFIX) {
            let value = if http {
                percent_decode(value)?
            } else {
                value.to_string()
            };
            baggage.insert(name.to_string(), value);
        }
    }
    match (trace_id, span_id) {
        (Some(trace_id), Some(span_id)) => Ok(MockSpanContext {
            trace_id,
            span_id,
            baggage,
        }),
        (None, None) => Err(ExtractError::SpanContextNotFound),
        (Some(_), None) => Err(ExtractError::SpanContextCorrupted(
            "span id missing".to_string(),
        )),
        (None, Some(_)) => Err(ExtractError::SpanContextCorrupted(
            "trace id missing".to_string(),
        )),
    }
}

fn parse_id(what: &str, value: &str) -> Result<u64, ExtractError> {
    value
        .parse()
        .map_err(|_| ExtractError::SpanContextCorrupted(format!("invalid {what} {value:?}")))
}

/// Percent-encodes every byte outside the URI "unreserved" set.
fn percent_encode(value: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(value.len());
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0F)]));
        }
    }
    out
}

fn percent_decode(value: &str) -> Result<String, ExtractError> {
    let corrupted =
        || ExtractError::SpanContextCorrupted(format!("invalid percent-encoding {value:?}"));
    let mut bytes = Vec::with_capacity(value.len());
    let mut rest = value.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            let hex = tail.get(..2).ok_or_else(corrupted)?;
            let hex = std::str::from_utf8(hex).map_err(|_| corrupted())?;
            bytes.push(u8::from_str_radix(hex, 16).map_err(|_| corrupted())?);
            rest = &tail[2..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    String::from_utf8(bytes).map_err(|_| corrupted())
}

fn inject_binary(context: &MockSpanContext, out: &mut Vec<u8>) -> Result<(), InjectError> {
    let too_large = |what: &str| CarrierError::new("binary", format!("{what} too large"));
    let count = u32::try_from(context.baggage.len()).map_err(|_| too_large("baggage"))?;
    let mut bytes = Vec::with_capacity(21);
    bytes.push(BINARY_VERSION);
    bytes.extend_from_slice(&context.trace_id.to_be_bytes());
    bytes.extend_from_slice(&context.span_id.to_be_bytes());
    bytes.extend_from_slice(&count.to_be_bytes());
    for (key, value) in &context.baggage {
        for s in [key, value] {
            let len = u32::try_from(s.len()).map_err(|_| too_large("baggage item"))?;
            bytes.extend_from_slice(&len.to_be_bytes());
            bytes.extend_from_slice(s.as_bytes());
        }
    }
    *out = bytes;
    Ok(())
}

/// Reads the binary encoding front to back.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ExtractError> {
        if self.0.len() < n {
            return Err(ExtractError::SpanContextCorrupted(
                "binary context truncated".to_string(),
            ));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ExtractError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn string(&mut self) -> Result<String, ExtractError> {
        let len = u32::from_be_bytes(self.array()?);
        let len = usize::try_from(len).map_err(|_| {
            ExtractError::SpanContextCorrupted("binary string too long".to_string())
        })?;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| ExtractError::SpanContextCorrupted("binary string not UTF-8".to_string()))
    }
}

fn extract_binary(bytes: &[u8]) -> Result<MockSpanContext, ExtractError> {
    if bytes.is_empty() {
        return Err(ExtractError::SpanContextNotFound);
    }
    let mut reader = Reader(bytes);
    let [version] = reader.array()?;
    if version != BINARY_VERSION {
        return Err(ExtractError::SpanContextCorrupted(format!(
            "unknown binary version {version}"
        )));
    }
    let trace_id = u64::from_be_bytes(reader.array()?);
    let span_id = u64::from_be_bytes(reader.array()?);
    let count = u32::from_be_bytes(reader.array()?);
    let mut baggage = BTreeMap::new();
    for _ in 0..count {
        let key = reader.string()?;
        let value = reader.string()?;
        baggage.insert(key, value);
    }
    if !reader.0.is_empty() {
        return Err(ExtractError::SpanContextCorrupted(
            "trailing bytes after binary context".to_string(),
        ));
    }
    Ok(MockSpanContext {
        trace_id,
        span_id,
        baggage,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> MockSpanContext {
        MockSpanContext {
            trace_id: 0x0102_0304_0506_0708,
            span_id: 9,
            baggage: BTreeMap::from([("k".into(), "v".into())]),
        }
    }

    #[test]
    fn binary_layout_is_exact() {
        let mut bytes = vec![0xAA];
        inject_binary(&context(), &mut bytes).unwrap();
        assert_eq!(
            bytes,
            [
                1, // version
                1, 2, 3, 4, 5, 6, 7, 8, // trace id
                0, 0, 0, 0, 0, 0, 0, 9, // span id
                0, 0, 0, 1, // baggage count
                0, 0, 0, 1, b'k', // key
                0, 0, 0, 1, b'v', // value
            ]
        );
        assert_eq!(extract_binary(&bytes), Ok(context()));
    }

    #[test]
    fn binary_errors() {
        let mut bytes = Vec::new();
        inject_binary(&context(), &mut bytes).unwrap();
        assert_eq!(extract_binary(&[]), Err(ExtractError::SpanContextNotFound));
        assert_eq!(
            extract_binary(&bytes[..bytes.len() - 1]),
            Err(ExtractError::SpanContextCorrupted(
                "binary context truncated".into()
            ))
        );
        let mut wrong_version = bytes.clone();
        wrong_version[0] = 2;
        assert_eq!(
            extract_binary(&wrong_version),
            Err(ExtractError::SpanContextCorrupted(
                "unknown binary version 2".into()
            ))
        );
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(
            extract_binary(&trailing),
            Err(ExtractError::SpanContextCorrupted(
                "trailing bytes after binary context".into()
            ))
        );
        let mut not_utf8 = bytes;
        let last = not_utf8.len() - 1;
        not_utf8[last] = 0xFF;
        assert_eq!(
            extract_binary(&not_utf8),
            Err(ExtractError::SpanContextCorrupted(
                "binary string not UTF-8".into()
            ))
        );
    }

    #[test]
    fn percent_encoding_round_trips() {
        let raw = "a b/ç%~-._Z9";
        let encoded = percent_encode(raw);
        assert_eq!(encoded, "a%20b%2F%C3%A7%25~-._Z9");
        assert_eq!(percent_decode(&encoded).unwrap(), raw);
    }

    #[test]
    fn percent_decoding_rejects_garbage() {
        for bad in ["%", "%4", "%zz", "%FF"] {
            assert_eq!(
                percent_decode(bad),
                Err(ExtractError::SpanContextCorrupted(format!(
                    "invalid percent-encoding {bad:?}"
                ))),
                "{bad}"
            );
        }
    }
}
