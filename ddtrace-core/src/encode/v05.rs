//! The v0.5 encoding: a string table plus spans as fixed 12-element arrays of string indexes and
//! numbers (see the [module docs](super) for the layout).

use std::collections::HashMap;

use super::{
    container_header_len, json, put_array_len, put_f64, put_map_len, put_sint, put_str, put_uint,
};
use crate::SpanData;
use crate::span_data::Str;

/// The meta key that carries span links as JSON (v0.5 has no links field).
pub const SPAN_LINKS_META_KEY: &str = "_dd.span_links";

/// The meta key that carries span events as JSON.
pub const EVENTS_META_KEY: &str = super::v04::EVENTS_META_KEY;

/// The number of fields of a v0.5 span array.
const SPAN_FIELDS: usize = 12;

/// Slots of [`StringTable`]'s cache of `'static` strings.
const STATIC_SLOTS: usize = 256;

/// The v0.5 string table: each distinct string once, `""` at index 0.
///
/// Strings are msgpack-encoded as they are added, so the table's encoded size is always known
/// and writing it out is one copy.
///
/// Most strings of a span are `'static` (names, tag keys, the interned service): those are
/// looked up first in a small cache keyed by their address and length, which stay valid and
/// unique for the life of the process, so a hit costs no hashing. Owned strings (and misses) go
/// through the hash map, whose SipHash keeps strings an attacker controls (a URL in a tag)
/// from degrading it.
#[derive(Debug, Clone)]
pub struct StringTable {
    index: HashMap<String, u32>,
    /// The msgpack str encodings of the strings, in index order (without the array header).
    encoded: Vec<u8>,
    /// `(address, length, index)` of `'static` strings already in the table; length 0 is empty.
    statics: Box<[(usize, usize, u32); STATIC_SLOTS]>,
}

impl Default for StringTable {
    fn default() -> Self {
        Self::new()
    }
}

impl StringTable {
    /// A table holding only `""` (index 0).
    pub fn new() -> Self {
        let mut table = StringTable {
            index: HashMap::new(),
            encoded: Vec::new(),
            statics: Box::new([(0, 0, 0); STATIC_SLOTS]),
        };
        table.intern("");
        table
    }

    /// The index of `s`, adding it if it is new.
    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = super::len32(self.index.len());
        self.index.insert(s.to_owned(), i);
        put_str(&mut self.encoded, s);
        i
    }

    /// The index of `s`, through the cache of `'static` strings when `s` is one.
    #[inline]
    pub(crate) fn intern_str(&mut self, s: &Str) -> u32 {
        let Str::Borrowed(s) = s else {
            return self.intern(s);
        };
        let (address, len) = (s.as_ptr() as usize, s.len());
        if len == 0 {
            return 0;
        }
        let slot = ((address >> 3) ^ len) % STATIC_SLOTS;
        let (cached_address, cached_len, i) = self.statics[slot];
        if cached_address == address && cached_len == len {
            return i;
        }
        let i = self.intern(s);
        self.statics[slot] = (address, len, i);
        i
    }

    /// The index of `s`, if it is in the table.
    pub fn get(&self, s: &str) -> Option<u32> {
        self.index.get(s).copied()
    }

    /// The number of strings, `""` included.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Always `false`: the table always holds `""`.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The length in bytes of the table as a msgpack array of str.
    pub fn encoded_len(&self) -> usize {
        container_header_len(self.len()) + self.encoded.len()
    }

    /// Empties the table back to `[""]`, keeping its allocations.
    pub fn clear(&mut self) {
        self.index.clear();
        self.encoded.clear();
        self.forget_statics();
        self.intern("");
    }

    fn forget_statics(&mut self) {
        self.statics.fill((0, 0, 0));
    }

    fn write_to(&self, w: &mut Vec<u8>) {
        put_array_len(w, self.len());
        w.extend_from_slice(&self.encoded);
    }

    /// Forgets every string added after the table had `len` strings and `encoded_len` bytes.
    fn truncate(&mut self, len: usize, encoded_len: usize) {
        if self.index.len() > len {
            let keep = super::len32(len);
            self.index.retain(|_, i| *i < keep);
            self.encoded.truncate(encoded_len);
            self.statics.iter_mut().for_each(|slot| {
                if slot.2 >= keep {
                    *slot = (0, 0, 0);
                }
            });
        }
    }
}

/// A v0.5 request body under construction: spans are encoded into a body buffer as they come,
/// their strings interned into the table; [`take`](Self::take) assembles
/// `[table, [chunk, ...]]`.
#[derive(Debug, Clone, Default)]
pub struct V05Payload {
    table: StringTable,
    body: Vec<u8>,
    chunks: usize,
    scratch: String,
}

/// Where a payload stood before a chunk was pushed (to undo the push).
#[derive(Debug, Clone, Copy)]
pub(super) struct V05Savepoint {
    body_len: usize,
    chunks: usize,
    strings: usize,
    strings_len: usize,
}

impl V05Payload {
    /// An empty payload.
    pub fn new() -> Self {
        Self::default()
    }

    /// Encodes one chunk into the payload.
    pub fn push_chunk(&mut self, chunk: &[SpanData]) {
        self.push_chunk_rooted(chunk, 0);
    }

    /// Encodes one chunk, `chunk[root]` first and the others in their order.
    pub(super) fn push_chunk_rooted(&mut self, chunk: &[SpanData], root: usize) {
        put_array_len(&mut self.body, chunk.len());
        for span in super::root_first(chunk, root) {
            self.write_span(span);
        }
        self.chunks += 1;
    }

    fn write_span(&mut self, span: &SpanData) {
        let w = &mut self.body;
        let table = &mut self.table;
        put_array_len(w, SPAN_FIELDS);
        put_uint(w, u64::from(table.intern_str(&span.service)));
        put_uint(w, u64::from(table.intern_str(&span.name)));
        put_uint(w, u64::from(table.intern_str(&span.resource)));
        put_uint(w, span.trace_id.low());
        put_uint(w, span.span_id);
        put_uint(w, span.parent_id);
        put_sint(w, span.start);
        put_sint(w, span.duration);
        put_uint(w, u64::from(span.error));

        // Links and events travel as JSON meta tags that replace tags of the same name.
        let has_links = !span.links.is_empty();
        let has_events = !span.events.is_empty();
        let skip_links = has_links && span.meta.contains_key(SPAN_LINKS_META_KEY);
        let skip_events = has_events && span.meta.contains_key(EVENTS_META_KEY);
        let meta_len = span.meta.len() + usize::from(has_links) + usize::from(has_events)
            - usize::from(skip_links)
            - usize::from(skip_events);
        put_map_len(w, meta_len);
        for (k, v) in span.meta.entries() {
            if (skip_links && k == SPAN_LINKS_META_KEY) || (skip_events && k == EVENTS_META_KEY) {
                continue;
            }
            put_uint(w, u64::from(table.intern_str(k)));
            put_uint(w, u64::from(table.intern_str(v)));
        }
        if has_links {
            self.scratch.clear();
            json::write_links_meta_json(&mut self.scratch, &span.links);
            put_uint(w, u64::from(table.intern(SPAN_LINKS_META_KEY)));
            put_uint(w, u64::from(table.intern(&self.scratch)));
        }
        if has_events {
            self.scratch.clear();
            json::write_events_json(&mut self.scratch, &span.events, json::MAX_META_JSON_BYTES);
            put_uint(w, u64::from(table.intern(EVENTS_META_KEY)));
            put_uint(w, u64::from(table.intern(&self.scratch)));
        }

        put_map_len(w, span.metrics.len());
        for (k, v) in span.metrics.entries() {
            put_uint(w, u64::from(table.intern_str(k)));
            put_f64(w, *v);
        }
        put_uint(w, u64::from(table.intern_str(&span.span_type)));
    }

    /// The number of chunks pushed.
    pub fn chunk_count(&self) -> usize {
        self.chunks
    }

    /// The string table so far.
    pub fn string_table(&self) -> &StringTable {
        &self.table
    }

    /// The exact length of the body [`take`](Self::take) would return.
    pub fn size_estimate(&self) -> usize {
        1 // the outer 2-element array
            + self.table.encoded_len()
            + container_header_len(self.chunks)
            + self.body.len()
    }

    /// Returns the body (`[strings, chunks]`) and empties the payload, keeping its buffers.
    pub fn take(&mut self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.size_estimate());
        put_array_len(&mut out, 2);
        self.table.write_to(&mut out);
        put_array_len(&mut out, self.chunks);
        out.extend_from_slice(&self.body);
        self.clear();
        out
    }

    /// Drops every chunk and string, keeping the buffers.
    pub fn clear(&mut self) {
        self.table.clear();
        self.body.clear();
        self.chunks = 0;
    }

    pub(super) fn savepoint(&self) -> V05Savepoint {
        V05Savepoint {
            body_len: self.body.len(),
            chunks: self.chunks,
            strings: self.table.len(),
            strings_len: self.table.encoded.len(),
        }
    }

    pub(super) fn rollback(&mut self, mark: V05Savepoint) {
        self.body.truncate(mark.body_len);
        self.chunks = mark.chunks;
        self.table.truncate(mark.strings, mark.strings_len);
    }
}
