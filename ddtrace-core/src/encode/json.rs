//! JSON renderings: a finished chunk as one JSON line, and the JSON-valued meta tags (`events`,
//! `_dd.span_links`) that carry span events and links when the wire format has no field for them.
//!
//! The JSON is written by hand into a `String` (no intermediate values): strings are escaped per
//! RFC 8259, integers are written in decimal and floats in their shortest round-trip form
//! (non-finite floats, which JSON cannot represent, become `null`).

use std::fmt::Write as _;

use crate::{AttributeValue, SpanData, SpanEvent, SpanLink};

/// Renders `chunk` as one line of JSON (without the trailing newline).
///
/// The line is a JSON array with one object per span, using the agent's v0.4 field names:
///
/// ```text
/// [{"trace_id":1,"span_id":2,"parent_id":0,"name":"n","service":"s","resource":"r","type":"",
///   "start":3,"duration":4,"error":0,"meta":{..},"metrics":{..}}]
/// ```
///
/// `trace_id`, `span_id` and `parent_id` are decimal numbers (`trace_id` is the low 64 bits);
/// `trace_id_128` (32 lowercase hex digits) is added when the trace id has high bits, and
/// `span_links` / `span_events` when the span has any (links as in v0.4, with `flags` carrying
/// bit 31; events with plain JSON attribute values).
pub fn chunk_to_json_line(chunk: &[SpanData]) -> String {
    let mut out = String::with_capacity(320 * chunk.len() + 2);
    write_chunk_json(&mut out, chunk);
    out
}

/// Appends the [`chunk_to_json_line`] rendering of `chunk` to `out`.
pub fn write_chunk_json(out: &mut String, chunk: &[SpanData]) {
    out.push('[');
    for (i, span) in chunk.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_span_json(out, span);
    }
    out.push(']');
}

fn write_span_json(out: &mut String, span: &SpanData) {
    out.push_str("{\"trace_id\":");
    push_u64(out, span.trace_id.low());
    if span.trace_id.high() != 0 {
        let _ = write!(out, ",\"trace_id_128\":\"{:032x}\"", span.trace_id.0);
    }
    out.push_str(",\"span_id\":");
    push_u64(out, span.span_id);
    out.push_str(",\"parent_id\":");
    push_u64(out, span.parent_id);
    out.push_str(",\"name\":");
    push_json_str(out, &span.name);
    out.push_str(",\"service\":");
    push_json_str(out, &span.service);
    out.push_str(",\"resource\":");
    push_json_str(out, &span.resource);
    out.push_str(",\"type\":");
    push_json_str(out, &span.span_type);
    out.push_str(",\"start\":");
    push_i64(out, span.start);
    out.push_str(",\"duration\":");
    push_i64(out, span.duration);
    out.push_str(if span.error {
        ",\"error\":1"
    } else {
        ",\"error\":0"
    });
    out.push_str(",\"meta\":{");
    for (i, (k, v)) in span.meta.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_str(out, k);
        out.push(':');
        push_json_str(out, v);
    }
    out.push_str("},\"metrics\":{");
    for (i, (k, v)) in span.metrics.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_str(out, k);
        out.push(':');
        push_f64(out, *v);
    }
    out.push('}');
    if !span.links.is_empty() {
        out.push_str(",\"span_links\":[");
        for (i, link) in span.links.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_v04_link_json(out, link);
        }
        out.push(']');
    }
    if !span.events.is_empty() {
        out.push_str(",\"span_events\":");
        // A line of its own, read by no agent: no meta limit.
        write_events_json(out, &span.events, usize::MAX);
    }
    out.push('}');
}

/// A link with the v0.4 field layout (numeric ids, `flags` with bit 31 set).
fn write_v04_link_json(out: &mut String, link: &SpanLink) {
    out.push_str("{\"trace_id\":");
    push_u64(out, link.trace_id.low());
    if link.trace_id.high() != 0 {
        out.push_str(",\"trace_id_high\":");
        push_u64(out, link.trace_id.high());
    }
    out.push_str(",\"span_id\":");
    push_u64(out, link.span_id);
    write_link_tail(out, link, |f| f | 0x8000_0000);
    out.push('}');
}

/// The optional `attributes`, `tracestate` and `flags` members of a link object.
fn write_link_tail(out: &mut String, link: &SpanLink, flags: impl Fn(u32) -> u32) {
    if !link.attributes.is_empty() {
        out.push_str(",\"attributes\":{");
        for (i, (k, v)) in link.attributes.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_json_str(out, k);
            out.push(':');
            push_json_str(out, v);
        }
        out.push('}');
    }
    if !link.tracestate.is_empty() {
        out.push_str(",\"tracestate\":");
        push_json_str(out, &link.tracestate);
    }
    if let Some(f) = link.flags {
        out.push_str(",\"flags\":");
        push_u64(out, u64::from(flags(f)));
    }
}

/// The longest meta value the agent keeps whole: it cuts longer ones (appending `...`), which
/// would leave a JSON value unparsable, so the JSON meta values stay within it.
pub(crate) const MAX_META_JSON_BYTES: usize = 25_000;

/// Appends the items `write_item` writes as a JSON array of at most `limit` bytes: an item that
/// would take the array past it is left out, with the ones after it.
fn write_bounded_array<T>(
    out: &mut String,
    items: &[T],
    limit: usize,
    mut write_item: impl FnMut(&mut String, &T),
) {
    let start = out.len();
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        let mark = out.len();
        if i > 0 {
            out.push(',');
        }
        write_item(out, item);
        // One byte for the closing bracket.
        if out.len() - start + 1 > limit {
            out.truncate(mark);
            break;
        }
    }
    out.push(']');
}

/// Appends the meta `_dd.span_links` value for `links`: a JSON array of
/// `{"trace_id":"<32 hex>","span_id":"<16 hex>","attributes":{..},"tracestate":"..","flags":N}`
/// with `attributes`, `tracestate` and `flags` (the raw W3C flags) only when set, as dd-trace-py's
/// `SpanLink.to_dict()` writes it; within [`MAX_META_JSON_BYTES`] (the links past it are left
/// out).
pub(crate) fn write_links_meta_json(out: &mut String, links: &[SpanLink]) {
    write_bounded_array(out, links, MAX_META_JSON_BYTES, |out, link| {
        let _ = write!(
            out,
            "{{\"trace_id\":\"{:032x}\",\"span_id\":\"{:016x}\"",
            link.trace_id.0, link.span_id
        );
        write_link_tail(out, link, |f| f);
        out.push('}');
    });
}

/// Appends the meta `events` value for `events`: a JSON array of
/// `{"name":"..","time_unix_nano":N,"attributes":{..}}` (`attributes` only when non-empty) with
/// plain JSON attribute values, of at most `limit` bytes (the events past it are left out):
/// [`MAX_META_JSON_BYTES`] for the agent's meta.
pub(crate) fn write_events_json(out: &mut String, events: &[SpanEvent], limit: usize) {
    write_bounded_array(out, events, limit, |out, event| {
        out.push_str("{\"name\":");
        push_json_str(out, &event.name);
        out.push_str(",\"time_unix_nano\":");
        push_u64(out, event.time_unix_nano);
        if !event.attributes.is_empty() {
            out.push_str(",\"attributes\":{");
            for (j, (k, v)) in event.attributes.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                push_json_str(out, k);
                out.push(':');
                write_attribute_json(out, v);
            }
            out.push('}');
        }
        out.push('}');
    });
}

/// Appends an attribute value as plain JSON (string, bool, number or array).
pub(crate) fn write_attribute_json(out: &mut String, value: &AttributeValue) {
    match value {
        AttributeValue::String(s) => push_json_str(out, s),
        AttributeValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        AttributeValue::Int(i) => push_i64(out, *i),
        AttributeValue::Double(d) => push_f64(out, *d),
        AttributeValue::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_attribute_json(out, item);
            }
            out.push(']');
        }
    }
}

fn push_u64(out: &mut String, v: u64) {
    let _ = write!(out, "{v}");
}

fn push_i64(out: &mut String, v: i64) {
    let _ = write!(out, "{v}");
}

/// A float in its shortest round-trip form (`1.5`, `2.0`, `1e300`); `null` when not finite.
fn push_f64(out: &mut String, v: f64) {
    match serde_json::Number::from_f64(v) {
        Some(n) => {
            let _ = write!(out, "{n}");
        }
        None => out.push_str("null"),
    }
}

/// Appends `s` as a quoted JSON string.
pub(crate) fn push_json_str(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(s.len() + 2);
    out.push('"');
    let mut clean_from = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        // `i` is at an ASCII byte, so both slice ends are char boundaries.
        out.push_str(&s[clean_from..i]);
        if escape.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push_str(escape);
        }
        clean_from = i + 1;
    }
    out.push_str(&s[clean_from..]);
    out.push('"');
}
