//! The v0.4 encoding: a span is a msgpack map with str keys (see the [module docs](super) for the
//! field table).

use super::{
    EncodeOptions, container_header_len, json, msgpack_key, put_array_len, put_bool, put_f64,
    put_map_len, put_raw, put_sint, put_str, put_uint,
};
use crate::{AttributeValue, SpanData, SpanEvent, SpanLink};

msgpack_key!(K_SERVICE = "service");
msgpack_key!(K_NAME = "name");
msgpack_key!(K_RESOURCE = "resource");
msgpack_key!(K_TRACE_ID = "trace_id");
msgpack_key!(K_TRACE_ID_HIGH = "trace_id_high");
msgpack_key!(K_SPAN_ID = "span_id");
msgpack_key!(K_PARENT_ID = "parent_id");
msgpack_key!(K_START = "start");
msgpack_key!(K_DURATION = "duration");
msgpack_key!(K_ERROR = "error");
msgpack_key!(K_TYPE = "type");
msgpack_key!(K_META = "meta");
msgpack_key!(K_METRICS = "metrics");
msgpack_key!(K_SPAN_LINKS = "span_links");
msgpack_key!(K_SPAN_EVENTS = "span_events");
msgpack_key!(K_ATTRIBUTES = "attributes");
msgpack_key!(K_TRACESTATE = "tracestate");
msgpack_key!(K_FLAGS = "flags");
msgpack_key!(K_TIME_UNIX_NANO = "time_unix_nano");
msgpack_key!(K_EVENTS = "events");
msgpack_key!(K_STRING_VALUE = "string_value");
msgpack_key!(K_BOOL_VALUE = "bool_value");
msgpack_key!(K_INT_VALUE = "int_value");
msgpack_key!(K_DOUBLE_VALUE = "double_value");
msgpack_key!(K_ARRAY_VALUE = "array_value");
msgpack_key!(K_VALUES = "values");

/// The meta key that carries span events as JSON when they are not sent natively.
pub const EVENTS_META_KEY: &str = "events";

/// Bit 31 of a span link's `flags`: tells the agent the W3C flags are set (even when zero).
pub const LINK_FLAGS_SET: u32 = 0x8000_0000;

/// The `type` tags of a native span-event attribute value (the agent's `AttributeAnyValue`).
mod any_value_type {
    pub(super) const STRING: u64 = 0;
    pub(super) const BOOL: u64 = 1;
    pub(super) const INT: u64 = 2;
    pub(super) const DOUBLE: u64 = 3;
    pub(super) const ARRAY: u64 = 4;
}

/// Encodes spans and chunks in the v0.4 format.
///
/// Holds the options and a scratch buffer for the `events` JSON, so reuse one encoder rather
/// than creating one per span.
#[derive(Debug, Clone, Default)]
pub struct V04Encoder {
    options: EncodeOptions,
    scratch: String,
}

impl V04Encoder {
    /// An encoder with `options`.
    pub fn new(options: EncodeOptions) -> Self {
        V04Encoder {
            options,
            scratch: String::new(),
        }
    }

    /// The options this encoder was built with.
    pub fn options(&self) -> EncodeOptions {
        self.options
    }

    /// Appends `chunk` to `out` as a msgpack array of span maps.
    pub fn encode_chunk(&mut self, out: &mut Vec<u8>, chunk: &[SpanData]) {
        self.write_chunk(out, chunk, 0);
    }

    /// Appends one span to `out` as a msgpack map.
    pub fn encode_span(&mut self, out: &mut Vec<u8>, span: &SpanData) {
        self.write_span(out, span);
    }

    /// Writes `chunk` as an array, `chunk[root]` first and the others in their order.
    pub(super) fn write_chunk(&mut self, w: &mut Vec<u8>, chunk: &[SpanData], root: usize) {
        put_array_len(w, chunk.len());
        for span in super::root_first(chunk, root) {
            self.write_span(w, span);
        }
    }

    pub(super) fn write_span(&mut self, w: &mut Vec<u8>, span: &SpanData) {
        let native_events = self.options.native_span_events && !span.events.is_empty();
        let json_events = !self.options.native_span_events && !span.events.is_empty();
        // The generated `events` tag replaces one the span may already carry.
        let skip_meta_events = json_events && span.meta.contains_key(EVENTS_META_KEY);
        let meta_len = span.meta.len() + usize::from(json_events) - usize::from(skip_meta_events);

        let field_count = 7 // service, name, resource, trace_id, span_id, start, duration
            + usize::from(span.parent_id != 0)
            + usize::from(span.error)
            + usize::from(!span.span_type.is_empty())
            + usize::from(meta_len > 0)
            + usize::from(!span.metrics.is_empty())
            + usize::from(!span.links.is_empty())
            + usize::from(native_events);
        put_map_len(w, field_count);

        put_raw(w, &K_SERVICE);
        put_str(w, &span.service);
        put_raw(w, &K_NAME);
        put_str(w, &span.name);
        put_raw(w, &K_RESOURCE);
        put_str(w, &span.resource);
        put_raw(w, &K_TRACE_ID);
        put_uint(w, span.trace_id.low());
        put_raw(w, &K_SPAN_ID);
        put_uint(w, span.span_id);
        if span.parent_id != 0 {
            put_raw(w, &K_PARENT_ID);
            put_uint(w, span.parent_id);
        }
        put_raw(w, &K_START);
        put_sint(w, span.start);
        put_raw(w, &K_DURATION);
        put_sint(w, span.duration);
        if span.error {
            put_raw(w, &K_ERROR);
            put_uint(w, 1);
        }
        if !span.span_type.is_empty() {
            put_raw(w, &K_TYPE);
            put_str(w, &span.span_type);
        }
        if meta_len > 0 {
            put_raw(w, &K_META);
            put_map_len(w, meta_len);
            for (k, v) in span.meta.iter() {
                if skip_meta_events && k == EVENTS_META_KEY {
                    continue;
                }
                put_str(w, k);
                put_str(w, v);
            }
            if json_events {
                self.scratch.clear();
                json::write_events_json(&mut self.scratch, &span.events, json::MAX_META_JSON_BYTES);
                put_raw(w, &K_EVENTS);
                put_str(w, &self.scratch);
            }
        }
        if !span.metrics.is_empty() {
            put_raw(w, &K_METRICS);
            put_map_len(w, span.metrics.len());
            for (k, v) in span.metrics.iter() {
                put_str(w, k);
                put_f64(w, *v);
            }
        }
        if !span.links.is_empty() {
            put_raw(w, &K_SPAN_LINKS);
            write_links(w, &span.links);
        }
        if native_events {
            put_raw(w, &K_SPAN_EVENTS);
            self.write_native_events(w, &span.events);
        }
    }

    fn write_native_events(&mut self, w: &mut Vec<u8>, events: &[SpanEvent]) {
        put_array_len(w, events.len());
        for event in events {
            put_map_len(w, 2 + usize::from(!event.attributes.is_empty()));
            put_raw(w, &K_TIME_UNIX_NANO);
            put_uint(w, event.time_unix_nano);
            put_raw(w, &K_NAME);
            put_str(w, &event.name);
            if !event.attributes.is_empty() {
                put_raw(w, &K_ATTRIBUTES);
                put_map_len(w, event.attributes.len());
                for (k, v) in event.attributes.iter() {
                    put_str(w, k);
                    self.write_any_value(w, v);
                }
            }
        }
    }

    /// `{type: 4, array_value: {values: [..]}}` for an array of one scalar type, a scalar
    /// any-value otherwise. The agent refuses an array whose values differ in type (the test
    /// agent fails the whole payload): such an array, or one holding arrays, is sent as its
    /// JSON text, a string value.
    fn write_any_value(&mut self, w: &mut Vec<u8>, value: &AttributeValue) {
        match value {
            AttributeValue::Array(items) if one_scalar_type(items) => {
                put_map_len(w, 2);
                put_raw(w, &K_TYPE);
                put_uint(w, any_value_type::ARRAY);
                put_raw(w, &K_ARRAY_VALUE);
                put_map_len(w, 1);
                put_raw(w, &K_VALUES);
                put_array_len(w, items.len());
                for item in items {
                    self.write_scalar_value(w, item);
                }
            }
            scalar => self.write_scalar_value(w, scalar),
        }
    }

    /// `{type: n, <kind>_value: v}`. An array here (nested, or of mixed types) is sent as its
    /// JSON text, as a string value.
    fn write_scalar_value(&mut self, w: &mut Vec<u8>, value: &AttributeValue) {
        put_map_len(w, 2);
        put_raw(w, &K_TYPE);
        match value {
            AttributeValue::String(s) => {
                put_uint(w, any_value_type::STRING);
                put_raw(w, &K_STRING_VALUE);
                put_str(w, s);
            }
            AttributeValue::Bool(b) => {
                put_uint(w, any_value_type::BOOL);
                put_raw(w, &K_BOOL_VALUE);
                put_bool(w, *b);
            }
            AttributeValue::Int(i) => {
                put_uint(w, any_value_type::INT);
                put_raw(w, &K_INT_VALUE);
                put_sint(w, *i);
            }
            AttributeValue::Double(d) => {
                put_uint(w, any_value_type::DOUBLE);
                put_raw(w, &K_DOUBLE_VALUE);
                put_f64(w, *d);
            }
            nested @ AttributeValue::Array(_) => {
                put_uint(w, any_value_type::STRING);
                put_raw(w, &K_STRING_VALUE);
                self.scratch.clear();
                json::write_attribute_json(&mut self.scratch, nested);
                put_str(w, &self.scratch);
            }
        }
    }
}

/// Whether `items` are scalars of one type (an empty array is).
fn one_scalar_type(items: &[AttributeValue]) -> bool {
    let Some(first) = items.first() else {
        return true;
    };
    !matches!(first, AttributeValue::Array(_))
        && items
            .iter()
            .all(|i| std::mem::discriminant(i) == std::mem::discriminant(first))
}

fn write_links(w: &mut Vec<u8>, links: &[SpanLink]) {
    put_array_len(w, links.len());
    for link in links {
        let high = link.trace_id.high();
        let field_count = 2 // trace_id, span_id
            + usize::from(high != 0)
            + usize::from(!link.attributes.is_empty())
            + usize::from(!link.tracestate.is_empty())
            + usize::from(link.flags.is_some());
        put_map_len(w, field_count);
        put_raw(w, &K_TRACE_ID);
        put_uint(w, link.trace_id.low());
        if high != 0 {
            put_raw(w, &K_TRACE_ID_HIGH);
            put_uint(w, high);
        }
        put_raw(w, &K_SPAN_ID);
        put_uint(w, link.span_id);
        if !link.attributes.is_empty() {
            put_raw(w, &K_ATTRIBUTES);
            put_map_len(w, link.attributes.len());
            for (k, v) in link.attributes.iter() {
                put_str(w, k);
                put_str(w, v);
            }
        }
        if !link.tracestate.is_empty() {
            put_raw(w, &K_TRACESTATE);
            put_str(w, &link.tracestate);
        }
        if let Some(flags) = link.flags {
            put_raw(w, &K_FLAGS);
            put_uint(w, u64::from(flags | LINK_FLAGS_SET));
        }
    }
}

/// A v0.4 request body under construction: the chunks are encoded into `body` as they come,
/// behind five bytes kept free for the outer array header, which
/// [`take_bytes`](Self::take_bytes) writes in place (the body is never copied).
#[derive(Debug, Clone, Default)]
pub struct V04Payload {
    encoder: V04Encoder,
    /// Empty, or [`HEADER_ROOM`] reserved bytes followed by the encoded chunks.
    body: Vec<u8>,
    chunks: usize,
}

/// Room for the largest msgpack array header (`0xdd` + 4 length bytes).
const HEADER_ROOM: usize = 5;

/// Where a payload stood before a chunk was pushed (to undo the push).
#[derive(Debug, Clone, Copy)]
pub(super) struct V04Savepoint {
    body_len: usize,
    chunks: usize,
}

impl V04Payload {
    /// An empty payload.
    pub fn new(options: EncodeOptions) -> Self {
        V04Payload {
            encoder: V04Encoder::new(options),
            body: Vec::new(),
            chunks: 0,
        }
    }

    /// Encodes one chunk into the payload.
    pub fn push_chunk(&mut self, chunk: &[SpanData]) {
        self.push_chunk_rooted(chunk, 0);
    }

    /// Encodes one chunk, `chunk[root]` first and the others in their order.
    pub(super) fn push_chunk_rooted(&mut self, chunk: &[SpanData], root: usize) {
        self.reserve_header_room();
        self.encoder.write_chunk(&mut self.body, chunk, root);
        self.chunks += 1;
    }

    /// Before the first chunk, the room for the outer array header.
    fn reserve_header_room(&mut self) {
        if self.body.is_empty() {
            self.body.resize(HEADER_ROOM, 0);
        }
    }

    /// Appends a chunk already encoded by [`V04Encoder::encode_chunk`] (one msgpack array).
    pub(super) fn push_encoded_chunk(&mut self, chunk: &[u8]) {
        self.reserve_header_room();
        self.body.extend_from_slice(chunk);
        self.chunks += 1;
    }

    /// The number of chunks pushed.
    pub fn chunk_count(&self) -> usize {
        self.chunks
    }

    /// The exact length of the body [`take`](Self::take) would return.
    pub fn size_estimate(&self) -> usize {
        container_header_len(self.chunks) + self.body.len().saturating_sub(HEADER_ROOM)
    }

    /// Returns the body (`[chunk, ...]`) as a new vector and empties the payload, keeping its
    /// buffer.
    pub fn take(&mut self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.size_estimate());
        put_array_len(&mut out, self.chunks);
        out.extend_from_slice(self.body.get(HEADER_ROOM..).unwrap_or_default());
        self.clear();
        out
    }

    /// Returns the body (`[chunk, ...]`) without copying it: the array header goes into the
    /// reserved room in front of the chunks, and the buffer itself becomes the body.
    pub fn take_bytes(&mut self) -> bytes::Bytes {
        let mut header = Vec::with_capacity(HEADER_ROOM);
        put_array_len(&mut header, self.chunks);
        self.chunks = 0;
        let mut body = std::mem::take(&mut self.body);
        if body.len() < HEADER_ROOM {
            return bytes::Bytes::from(header);
        }
        let offset = HEADER_ROOM - header.len();
        body[offset..HEADER_ROOM].copy_from_slice(&header);
        bytes::Bytes::from(body).slice(offset..)
    }

    /// Drops every chunk, keeping the buffer.
    pub fn clear(&mut self) {
        self.body.clear();
        self.chunks = 0;
    }

    /// Gives the payload a used buffer to encode into (a sent body whose pages are already
    /// mapped), if it has none bigger and holds no chunk.
    pub(super) fn recycle(&mut self, mut buffer: Vec<u8>) {
        if self.body.is_empty() && buffer.capacity() > self.body.capacity() {
            buffer.clear();
            self.body = buffer;
        }
    }

    pub(super) fn savepoint(&self) -> V04Savepoint {
        V04Savepoint {
            body_len: self.body.len(),
            chunks: self.chunks,
        }
    }

    pub(super) fn rollback(&mut self, mark: V04Savepoint) {
        self.body.truncate(mark.body_len);
        self.chunks = mark.chunks;
    }
}
