//! Encoding finished trace chunks for the Datadog Agent (msgpack v0.4 and v0.5) and as JSON lines.
//!
//! The agent writer accumulates chunks into a [`PayloadEncoder`], watches its
//! [`size_estimate`](PayloadEncoder::size_estimate) against the request-size limit, sends
//! [`chunk_count`](PayloadEncoder::chunk_count) as `X-Datadog-Trace-Count` and posts the bytes of
//! [`finish`](PayloadEncoder::finish) to [`ApiVersion::path`]. The hot path writes msgpack by hand
//! with `rmp` (no serde, no intermediate values); every string, key included, is a msgpack *str*
//! (never *bin*), integers use the smallest msgpack representation and floats are always `float64`.
//!
//! # v0.4 (`PUT /v0.4/traces`)
//!
//! The body is `[chunk, ...]`, a chunk is `[span, ...]` and a span is a map with str keys. Optional
//! fields are left out of the map (and out of its length) when empty, in this order:
//!
//! | key | msgpack type | written | source |
//! |---|---|---|---|
//! | `service` | str | always | [`SpanData::service`] |
//! | `name` | str | always | [`SpanData::name`] |
//! | `resource` | str | always | [`SpanData::resource`] |
//! | `trace_id` | uint | always | low 64 bits of [`SpanData::trace_id`] (the high bits travel in meta `_dd.p.tid`) |
//! | `span_id` | uint | always | [`SpanData::span_id`] |
//! | `parent_id` | uint | if non-zero | [`SpanData::parent_id`] |
//! | `start` | int | always | [`SpanData::start`], unix ns |
//! | `duration` | int | always | [`SpanData::duration`], ns |
//! | `error` | int `1` | if set | [`SpanData::error`] |
//! | `type` | str | if non-empty | [`SpanData::span_type`] |
//! | `meta` | map<str, str> | if non-empty | [`SpanData::meta`], plus `events` (JSON) when span events are not native |
//! | `metrics` | map<str, float64> | if non-empty | [`SpanData::metrics`] |
//! | `span_links` | array of maps | if non-empty | [`SpanData::links`], see below |
//! | `span_events` | array of maps | if non-empty and [`EncodeOptions::native_span_events`] | [`SpanData::events`], see below |
//!
//! A span link is a map `{trace_id: uint (low 64 bits), trace_id_high: uint (only if non-zero),
//! span_id: uint, attributes: map<str, str> (only if non-empty), tracestate: str (only if
//! non-empty), flags: uint32 (only if known, with bit 31 set)}`.
//!
//! A native span event is `{time_unix_nano: uint, name: str, attributes: map<str, any-value>}`
//! (`attributes` only if non-empty), where an any-value is a two-entry map tagged by `type`:
//!
//! | `type` | value key | value |
//! |---|---|---|
//! | 0 | `string_value` | str |
//! | 1 | `bool_value` | bool |
//! | 2 | `int_value` | int |
//! | 3 | `double_value` | float64 |
//! | 4 | `array_value` | `{values: [scalar any-value, ...]}` |
//!
//! Without native span events, the events go to meta `events` as the JSON array
//! `[{"name":..,"time_unix_nano":..,"attributes":{..}}]` (plain JSON values), replacing any
//! `events` tag the span already has; the span itself is not modified.
//!
//! # v0.5 (`PUT /v0.5/traces`)
//!
//! The body is `[strings, chunks]`: `strings` is the string table (an array of str, `""` at index
//! 0, each distinct string once) and `chunks` is `[[span, ...], ...]`, where a span is a fixed
//! 12-element array (nothing is ever nil):
//!
//! | # | field | msgpack type |
//! |---|---|---|
//! | 0 | service | uint32 string index |
//! | 1 | name | uint32 string index |
//! | 2 | resource | uint32 string index |
//! | 3 | trace_id | uint64 (low 64 bits) |
//! | 4 | span_id | uint64 |
//! | 5 | parent_id | uint64 (0 for a root) |
//! | 6 | start | int64 |
//! | 7 | duration | int64 |
//! | 8 | error | int32 (0 or 1) |
//! | 9 | meta | map<uint32, uint32> (string indexes) |
//! | 10 | metrics | map<uint32, float64> |
//! | 11 | type | uint32 string index |
//!
//! v0.5 has no links or events fields: links go to meta `_dd.span_links` as a JSON array of
//! `{"trace_id": "<32 hex>", "span_id": "<16 hex>", "attributes": {..}, "tracestate": "..",
//! "flags": <raw W3C flags>}` (the last three only when set; the layout dd-trace-py writes) and
//! events to meta `events` as in v0.4.
//!
//! # JSON lines
//!
//! [`json::chunk_to_json_line`] renders a chunk as one line of JSON for environments without an
//! agent.

use crate::SpanData;

pub mod json;
pub(crate) mod read;
pub mod v04;
pub mod v05;

#[cfg(test)]
mod tests;

/// The agent trace-intake endpoint version.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ApiVersion {
    /// `/v0.4/traces`: spans as maps with str keys (the default, supported by every agent).
    #[default]
    V04,
    /// `/v0.5/traces`: spans as arrays with a shared string table (only if `/info` lists it).
    V05,
}

impl ApiVersion {
    /// The request path, `"/v0.4/traces"` or `"/v0.5/traces"`.
    pub const fn path(self) -> &'static str {
        match self {
            ApiVersion::V04 => "/v0.4/traces",
            ApiVersion::V05 => "/v0.5/traces",
        }
    }

    /// The version as written in paths and logs, `"v0.4"` or `"v0.5"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V04 => "v0.4",
            ApiVersion::V05 => "v0.5",
        }
    }
}

impl std::fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Options that change what the encoders write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EncodeOptions {
    /// Encode span events as the native v0.4 `span_events` field (set this when the agent's
    /// `/info` says `"span_events": true`); otherwise they go to meta `events` as JSON.
    /// v0.5 always uses the meta tag.
    pub native_span_events: bool,
}

impl EncodeOptions {
    /// The defaults: span events as the meta `events` JSON tag.
    pub const fn new() -> Self {
        EncodeOptions {
            native_span_events: false,
        }
    }

    /// Sets [`native_span_events`](Self::native_span_events).
    pub const fn with_native_span_events(mut self, native: bool) -> Self {
        self.native_span_events = native;
        self
    }
}

/// Why [`PayloadEncoder::try_push_chunk`] refused a chunk (the payload is left as it was).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// The chunk fits in an empty payload but not in this one: send this payload first.
    #[error(
        "payload full: adding the chunk would make it {would_be} bytes, over the {max_size}-byte limit"
    )]
    PayloadFull {
        /// The payload size the chunk would have produced.
        would_be: usize,
        /// The limit given.
        max_size: usize,
    },
    /// The chunk alone makes a payload over the limit: it can never be sent as one chunk.
    #[error(
        "trace chunk too large: a payload holding only it is {size} bytes, over the {max_size}-byte limit"
    )]
    ChunkTooLarge {
        /// The size of a payload holding only this chunk.
        size: usize,
        /// The limit given.
        max_size: usize,
    },
}

/// What [`PayloadEncoder::try_push_encoded_v04`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EncodedPush {
    /// Appended.
    Pushed,
    /// Would go over the limit: send this payload first.
    Full,
    /// Over the limit even alone.
    TooLarge,
    /// The payload is v0.5: the chunk cannot go in it.
    NotV04,
}

/// Accumulates trace chunks into one request body of either version.
///
/// Spans are encoded as soon as they are pushed; [`size_estimate`](Self::size_estimate) is the
/// exact length [`finish`](Self::finish) will return. Buffers are kept across
/// [`take`](Self::take) and [`clear`](Self::clear), so one encoder serves a writer thread for
/// its whole life.
#[derive(Debug, Clone)]
pub struct PayloadEncoder {
    inner: Inner,
}

#[derive(Debug, Clone)]
enum Inner {
    V04(v04::V04Payload),
    V05(v05::V05Payload),
}

impl PayloadEncoder {
    /// An empty payload for `version`.
    pub fn new(version: ApiVersion, options: EncodeOptions) -> Self {
        let inner = match version {
            ApiVersion::V04 => Inner::V04(v04::V04Payload::new(options)),
            ApiVersion::V05 => Inner::V05(v05::V05Payload::new()),
        };
        PayloadEncoder { inner }
    }

    /// The version this payload is encoded in.
    pub fn version(&self) -> ApiVersion {
        match self.inner {
            Inner::V04(_) => ApiVersion::V04,
            Inner::V05(_) => ApiVersion::V05,
        }
    }

    /// Encodes one trace chunk (spans sharing a trace id) into the payload.
    pub fn push_chunk(&mut self, chunk: &[SpanData]) {
        match &mut self.inner {
            Inner::V04(p) => p.push_chunk(chunk),
            Inner::V05(p) => p.push_chunk(chunk),
        }
    }

    /// Encodes `chunk` only if the payload stays within `max_size` bytes; otherwise leaves the
    /// payload unchanged and says why.
    pub fn try_push_chunk(&mut self, chunk: &[SpanData], max_size: usize) -> Result<(), PushError> {
        self.try_push_chunk_rooted(chunk, 0, max_size)
    }

    /// [`try_push_chunk`](Self::try_push_chunk) with the chunk root at `chunk[root]`: it is
    /// written first, the others after it in their order (so the caller need not move it).
    pub(crate) fn try_push_chunk_rooted(
        &mut self,
        chunk: &[SpanData],
        root: usize,
        max_size: usize,
    ) -> Result<(), PushError> {
        let was_empty = self.is_empty();
        let size = match &mut self.inner {
            Inner::V04(p) => {
                let mark = p.savepoint();
                p.push_chunk_rooted(chunk, root);
                let size = p.size_estimate();
                if size > max_size {
                    p.rollback(mark);
                }
                size
            }
            Inner::V05(p) => {
                let mark = p.savepoint();
                p.push_chunk_rooted(chunk, root);
                let size = p.size_estimate();
                if size > max_size {
                    p.rollback(mark);
                }
                size
            }
        };
        if size <= max_size {
            Ok(())
        } else if was_empty {
            Err(PushError::ChunkTooLarge { size, max_size })
        } else {
            Err(PushError::PayloadFull {
                would_be: size,
                max_size,
            })
        }
    }

    /// Appends a chunk already encoded in v0.4 (by [`encode_v04_chunk`]) if the payload is v0.4
    /// and stays within `max_size` bytes; otherwise leaves the payload unchanged and says why.
    pub(crate) fn try_push_encoded_v04(&mut self, chunk: &[u8], max_size: usize) -> EncodedPush {
        let Inner::V04(p) = &mut self.inner else {
            return EncodedPush::NotV04;
        };
        let n = p.chunk_count();
        let size =
            p.size_estimate() - container_header_len(n) + container_header_len(n + 1) + chunk.len();
        if size <= max_size {
            p.push_encoded_chunk(chunk);
            EncodedPush::Pushed
        } else if n == 0 {
            EncodedPush::TooLarge
        } else {
            EncodedPush::Full
        }
    }

    /// The number of chunks pushed (the `X-Datadog-Trace-Count` header).
    pub fn chunk_count(&self) -> usize {
        match &self.inner {
            Inner::V04(p) => p.chunk_count(),
            Inner::V05(p) => p.chunk_count(),
        }
    }

    /// Whether no chunk has been pushed.
    pub fn is_empty(&self) -> bool {
        self.chunk_count() == 0
    }

    /// The length in bytes of the body [`finish`](Self::finish) would return now (exact).
    pub fn size_estimate(&self) -> usize {
        match &self.inner {
            Inner::V04(p) => p.size_estimate(),
            Inner::V05(p) => p.size_estimate(),
        }
    }

    /// The request body.
    pub fn finish(mut self) -> Vec<u8> {
        self.take()
    }

    /// Returns the request body and empties the payload, keeping its buffers for reuse.
    pub fn take(&mut self) -> Vec<u8> {
        match &mut self.inner {
            Inner::V04(p) => p.take(),
            Inner::V05(p) => p.take(),
        }
    }

    /// Returns the request body and empties the payload; v0.4 bodies are not copied.
    pub(crate) fn take_bytes(&mut self) -> bytes::Bytes {
        match &mut self.inner {
            Inner::V04(p) => p.take_bytes(),
            Inner::V05(p) => bytes::Bytes::from(p.take()),
        }
    }

    /// Hands back the buffer of a body returned by [`take_bytes`](Self::take_bytes) once it is
    /// no longer shared, so the next payload is encoded into memory that is already mapped.
    pub(crate) fn recycle(&mut self, body: bytes::Bytes) {
        if let Inner::V04(p) = &mut self.inner
            && let Ok(mut unique) = body.try_into_mut()
        {
            unique.clear();
            p.recycle(Vec::from(unique));
        }
    }

    /// Drops every chunk pushed so far, keeping the buffers.
    pub fn clear(&mut self) {
        match &mut self.inner {
            Inner::V04(p) => p.clear(),
            Inner::V05(p) => p.clear(),
        }
    }
}

/// Encodes one chunk as a v0.4 msgpack array of spans, `chunk[root]` first (what an exporting
/// thread does under overload; the writer appends it to a v0.4 payload as is).
pub(crate) fn encode_v04_chunk(options: EncodeOptions, chunk: &[SpanData], root: usize) -> Vec<u8> {
    let mut out = Vec::new();
    encode_v04_chunk_into(&mut out, options, chunk, root);
    out
}

/// The room a chunk of `spans` spans gets for its v0.4 encoding: about 160 bytes a span with a
/// few tags, so one allocation in the common case. Not shrunk afterwards: the buffer goes back
/// to the application threads for the next chunks (see `writer::queue`).
pub(crate) fn encoded_chunk_estimate(spans: usize) -> usize {
    64 + spans * 192
}

/// [`encode_v04_chunk`] into `out` (cleared first, and given room for the estimate), a buffer
/// the writer handed back.
pub(crate) fn encode_v04_chunk_into(
    out: &mut Vec<u8>,
    options: EncodeOptions,
    chunk: &[SpanData],
    root: usize,
) {
    out.clear();
    out.reserve(encoded_chunk_estimate(chunk.len()));
    v04::V04Encoder::new(options).write_chunk(out, chunk, root);
}

// ---- msgpack writing helpers ----
//
// Written by hand straight into the output `Vec` (writes into a `Vec` cannot fail, so there is
// no error plumbing), with exactly `rmp`'s choice of representation: the smallest one for ints
// and lengths, `float64` for floats, and *str* (never *bin*) for strings.

/// A collection length as a msgpack length (saturating; real payloads are far smaller).
#[inline(always)]
fn len32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

#[inline(always)]
fn put_str(w: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let len = bytes.len();
    if len < 32 {
        w.reserve(1 + len);
        w.push(0xa0 | len as u8);
    } else if len < 256 {
        w.reserve(2 + len);
        w.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= u16::MAX as usize {
        w.reserve(3 + len);
        w.push(0xda);
        w.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        w.reserve(5 + len);
        w.push(0xdb);
        w.extend_from_slice(&len32(len).to_be_bytes());
    }
    w.extend_from_slice(bytes);
}

#[inline(always)]
fn put_uint(w: &mut Vec<u8>, v: u64) {
    if v < 128 {
        w.push(v as u8);
    } else if v < 256 {
        w.extend_from_slice(&[0xcc, v as u8]);
    } else if v < 65_536 {
        let b = (v as u16).to_be_bytes();
        w.extend_from_slice(&[0xcd, b[0], b[1]]);
    } else if v < 4_294_967_296 {
        let b = (v as u32).to_be_bytes();
        w.extend_from_slice(&[0xce, b[0], b[1], b[2], b[3]]);
    } else {
        let b = v.to_be_bytes();
        w.extend_from_slice(&[0xcf, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
    }
}

#[inline(always)]
fn put_sint(w: &mut Vec<u8>, v: i64) {
    if v >= 0 {
        // Non-negative values take the unsigned forms, as `rmp::encode::write_sint` does.
        put_uint(w, v as u64);
    } else if v >= -32 {
        w.push(v as i8 as u8);
    } else if v >= -128 {
        w.extend_from_slice(&[0xd0, v as i8 as u8]);
    } else if v >= -32_768 {
        let b = (v as i16).to_be_bytes();
        w.extend_from_slice(&[0xd1, b[0], b[1]]);
    } else if v >= -2_147_483_648 {
        let b = (v as i32).to_be_bytes();
        w.extend_from_slice(&[0xd2, b[0], b[1], b[2], b[3]]);
    } else {
        let b = v.to_be_bytes();
        w.extend_from_slice(&[0xd3, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
    }
}

#[inline(always)]
fn put_f64(w: &mut Vec<u8>, v: f64) {
    let b = v.to_bits().to_be_bytes();
    w.extend_from_slice(&[0xcb, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
}

#[inline(always)]
fn put_bool(w: &mut Vec<u8>, v: bool) {
    w.push(if v { 0xc3 } else { 0xc2 });
}

/// A map (`fix = 0x80`, `m16 = 0xde`) or array (`0x90`, `0xdc`) header.
#[inline(always)]
fn put_container_len(w: &mut Vec<u8>, len: usize, fix: u8, m16: u8) {
    if len < 16 {
        w.push(fix | len as u8);
    } else if len <= u16::MAX as usize {
        let b = (len as u16).to_be_bytes();
        w.extend_from_slice(&[m16, b[0], b[1]]);
    } else {
        let b = len32(len).to_be_bytes();
        w.extend_from_slice(&[m16 + 1, b[0], b[1], b[2], b[3]]);
    }
}

#[inline(always)]
fn put_map_len(w: &mut Vec<u8>, len: usize) {
    put_container_len(w, len, 0x80, 0xde);
}

#[inline(always)]
fn put_array_len(w: &mut Vec<u8>, len: usize) {
    put_container_len(w, len, 0x90, 0xdc);
}

/// Appends pre-encoded msgpack (a constant key).
#[inline(always)]
fn put_raw(w: &mut Vec<u8>, bytes: &[u8]) {
    w.extend_from_slice(bytes);
}

/// The spans of `chunk` with `chunk[root]` first and the others in their order (`root` out of
/// range: the chunk as it is).
fn root_first(chunk: &[SpanData], root: usize) -> impl Iterator<Item = &SpanData> {
    let root = if root < chunk.len() { root } else { 0 };
    let (before, from_root) = chunk.split_at(root);
    from_root
        .iter()
        .take(1)
        .chain(before)
        .chain(from_root.iter().skip(1))
}

/// The size of a msgpack array or map header for `len` entries.
const fn container_header_len(len: usize) -> usize {
    if len < 16 {
        1
    } else if len <= u16::MAX as usize {
        3
    } else {
        5
    }
}

/// A key shorter than 32 bytes encoded as a msgpack fixstr (`N` = length + 1), at compile time.
const fn fixstr<const N: usize>(s: &str) -> [u8; N] {
    let bytes = s.as_bytes();
    let mut out = [0u8; N];
    // Evaluated at compile time: a wrong `N` or a key of 32+ bytes fails the build.
    assert!(bytes.len() + 1 == N && bytes.len() < 32, "not a fixstr key");
    out[0] = 0xa0 | bytes.len() as u8;
    let mut i = 0;
    while i < bytes.len() {
        out[i + 1] = bytes[i];
        i += 1;
    }
    out
}

/// Declares a constant holding a msgpack-encoded str key.
macro_rules! msgpack_key {
    ($name:ident = $s:literal) => {
        const $name: [u8; $s.len() + 1] = $crate::encode::fixstr::<{ $s.len() + 1 }>($s);
    };
}
use msgpack_key;
