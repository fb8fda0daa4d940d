//! The finished-span data model: what a trace chunk carries from the application to an exporter.
//!
//! A [`SpanData`] is a plain value: once a span has finished it is never shared again, so the
//! exporter (the agent writer, the JSON writer, the in-memory collector) owns it outright.
//! Strings are [`Str`] (`Cow<'static, str>`) so the common case (static names and tag keys)
//! costs no allocation on the application thread.

use std::borrow::Cow;
use std::fmt;

use smallvec::SmallVec;

/// Tags a span stores without allocating; more spill to the heap.
const INLINE_TAGS: usize = 4;

/// A string that is either borrowed for `'static` (free to create and clone) or owned.
pub type Str = Cow<'static, str>;

/// A 128-bit trace identifier.
///
/// Datadog sends the low 64 bits as the span's `trace_id` and the high 64 bits, when non-zero,
/// as the `_dd.p.tid` tag of the chunk root (16 lowercase hex digits).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TraceId(pub u128);

impl TraceId {
    /// Builds a trace id from its high and low 64-bit halves.
    pub const fn from_parts(high: u64, low: u64) -> Self {
        TraceId(((high as u128) << 64) | low as u128)
    }

    /// The low 64 bits (the `trace_id` field on the wire).
    pub const fn low(self) -> u64 {
        self.0 as u64
    }

    /// The high 64 bits (`_dd.p.tid`), zero for a 64-bit trace id.
    pub const fn high(self) -> u64 {
        (self.0 >> 64) as u64
    }

    /// The id as 32 lowercase hex digits (W3C form).
    pub fn to_hex(self) -> String {
        format!("{:032x}", self.0)
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({:032x})", self.0)
    }
}

impl fmt::Display for TraceId {
    /// Displays the full 128-bit id as 32 lowercase hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl From<u128> for TraceId {
    fn from(v: u128) -> Self {
        TraceId(v)
    }
}

/// A small ordered map of tags, stored as a vector of pairs.
///
/// Spans carry a handful of tags; a linear scan beats hashing at that size and keeps insertion
/// order stable for the encoder and for tests. Inserting an existing key replaces its value.
#[derive(Clone, PartialEq)]
pub struct TagMap<V> {
    entries: SmallVec<[(Str, V); INLINE_TAGS]>,
}

impl<V> Default for TagMap<V> {
    /// An empty map, built at run time: its inline slots are left as they are, where the
    /// constant [`new`](TagMap::new) is written with zeros over them (a 200-byte `memset` for
    /// `meta`), which touches cache lines a span's record otherwise never does.
    #[inline(always)]
    fn default() -> Self {
        TagMap {
            entries: SmallVec::new(),
        }
    }
}

impl<V> TagMap<V> {
    /// An empty map (no allocation), for constants and statics; at run time
    /// [`default`](Default::default) writes less.
    pub const fn new() -> Self {
        TagMap {
            entries: SmallVec::new_const(),
        }
    }

    /// Inserts or replaces `key`, returning the previous value.
    #[inline]
    pub fn insert(&mut self, key: impl Into<Str>, value: V) -> Option<V> {
        let key = key.into();
        match self.position(&key) {
            Some(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            None => {
                self.entries.push((key, value));
                None
            }
        }
    }

    /// [`insert`](Self::insert) for a `'static` key, dropping the previous value. The key is
    /// looked up as the `&str` it is and made a [`Str`] only when stored: looking up a `Str`
    /// borrows it, which puts it on the stack.
    #[inline(always)]
    pub(crate) fn insert_static(&mut self, key: &'static str, value: V) {
        match self.position(key) {
            Some(i) => self.entries[i].1 = value,
            None => self.entries.push((Str::Borrowed(key), value)),
        }
    }

    /// Where `key` is. Compares lengths first: most keys of a span differ in length.
    #[inline]
    fn position(&self, key: &str) -> Option<usize> {
        let (len, bytes) = (key.len(), key.as_bytes());
        self.entries
            .iter()
            .position(|(k, _)| k.len() == len && k.as_bytes() == bytes)
    }

    /// Inserts `key` only if it is absent; returns whether it was inserted.
    pub fn insert_if_absent(&mut self, key: impl Into<Str>, value: V) -> bool {
        let key = key.into();
        if self.contains_key(&key) {
            false
        } else {
            self.entries.push((key, value));
            true
        }
    }

    /// The value for `key`, if any.
    pub fn get(&self, key: &str) -> Option<&V> {
        Some(&self.entries[self.position(key)?].1)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Removes `key`, returning its value.
    #[inline(always)]
    pub fn remove(&mut self, key: &str) -> Option<V> {
        let pos = self.position(key)?;
        Some(self.entries.remove(pos).1)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether the map holds heap memory: entries past the inline ones, or an owned key or
    /// value (as `owned` says of a value).
    fn owns_heap(&self, owned: impl Fn(&V) -> bool) -> bool {
        self.entries.spilled() || self.entries.iter().any(|(k, v)| heap_str(k) || owned(v))
    }

    /// The entries as stored (keys as [`Str`], telling `'static` strings apart), in insertion
    /// order.
    pub(crate) fn entries(&self) -> impl ExactSizeIterator<Item = (&Str, &V)> + '_ {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// Iterates over `(key, value)` in insertion order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &V)> + '_ {
        self.entries.iter().map(|(k, v)| (k.as_ref(), v))
    }
}

impl<V: fmt::Debug> fmt::Debug for TagMap<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

impl<K: Into<Str>, V> FromIterator<(K, V)> for TagMap<V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut map = TagMap::new();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

impl SpanData {
    /// Whether dropping the span frees heap memory: an owned string, tags past the inline
    /// ones, links or events. An exporter that hands span buffers back
    /// ([`Exporter::reuse_buffer`](crate::Exporter::reuse_buffer)) can drop the spans that own
    /// nothing on its own thread, and leave the others for the thread that allocated them.
    pub fn owns_heap(&self) -> bool {
        heap_str(&self.name)
            || heap_str(&self.service)
            || heap_str(&self.resource)
            || heap_str(&self.span_type)
            || self.meta.owns_heap(heap_str)
            || self.metrics.owns_heap(|_| false)
            || !self.links.is_empty()
            || !self.events.is_empty()
    }
}

/// Whether `s` holds heap memory (an owned string with room allocated; `Str::default()` is an
/// empty owned string, which holds none).
fn heap_str(s: &Str) -> bool {
    matches!(s, Cow::Owned(o) if o.capacity() > 0)
}

/// A link from one span to another span context (possibly in another trace).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SpanLink {
    /// The linked trace id (128 bits; the wire splits it into `trace_id` and `trace_id_high`).
    pub trace_id: TraceId,
    /// The linked span id.
    pub span_id: u64,
    /// String attributes (for example `reason`).
    pub attributes: TagMap<Str>,
    /// The W3C tracestate of the linked context, empty when unknown.
    pub tracestate: Str,
    /// W3C trace flags of the linked context, when known (encoded with bit 31 set).
    pub flags: Option<u32>,
}

/// The value of a span-event attribute.
#[derive(Clone, Debug, PartialEq)]
pub enum AttributeValue {
    /// A string.
    String(Str),
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// A float.
    Double(f64),
    /// An array of scalar values.
    Array(Vec<AttributeValue>),
}

/// A timestamped event on a span (OpenTracing's `log`).
#[derive(Clone, Debug, PartialEq)]
pub struct SpanEvent {
    /// The event name.
    pub name: Str,
    /// When it happened, unix epoch nanoseconds.
    pub time_unix_nano: u64,
    /// Its attributes, in insertion order.
    pub attributes: TagMap<AttributeValue>,
}

/// One finished span, as sent to the agent.
///
/// Fields map one to one onto the v0.4 wire format (`../docs/configuration.md` and the encoder's
/// module doc give the table).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SpanData {
    /// The trace id (128 bits).
    pub trace_id: TraceId,
    /// This span's id, non-zero.
    pub span_id: u64,
    /// The parent span's id, 0 for a root.
    pub parent_id: u64,
    /// The operation name.
    pub name: Str,
    /// The service.
    pub service: Str,
    /// The resource; the tracer sets it to the name when the user gives none.
    pub resource: Str,
    /// The span type (`web`, `http`, `db`, ...), empty when none.
    pub span_type: Str,
    /// Start, unix epoch nanoseconds.
    pub start: i64,
    /// Duration in nanoseconds, measured on a monotonic clock.
    pub duration: i64,
    /// Whether the span is an error (`error = 1` on the wire).
    pub error: bool,
    /// String tags.
    pub meta: TagMap<Str>,
    /// Numeric tags.
    pub metrics: TagMap<f64>,
    /// Span links.
    pub links: Vec<SpanLink>,
    /// Span events.
    pub events: Vec<SpanEvent>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A span of `'static` strings with as many tags as fit inline.
    fn borrowed() -> SpanData {
        let mut span = SpanData {
            name: "op".into(),
            service: "svc".into(),
            resource: "res".into(),
            span_type: "web".into(),
            ..SpanData::default()
        };
        for k in ["a", "b", "c", "d"] {
            span.meta.insert(k, Str::Borrowed("v"));
            span.metrics.insert(k, 1.0);
        }
        span
    }

    #[test]
    fn a_span_owns_heap_memory_exactly_when_dropping_it_frees_some() {
        assert!(!SpanData::default().owns_heap());
        assert!(!borrowed().owns_heap());
        let owned = || Str::Owned("x".to_owned());
        type Change = fn(&mut SpanData, Str);
        let cases: Vec<(&str, Change)> = vec![
            ("name", |s, v| s.name = v),
            ("service", |s, v| s.service = v),
            ("resource", |s, v| s.resource = v),
            ("span_type", |s, v| s.span_type = v),
            ("meta key", |s, v| {
                s.meta.remove("a");
                s.meta.insert(v, Str::Borrowed("v"));
            }),
            ("meta value", |s, v| {
                s.meta.insert("a", v);
            }),
            ("metric key", |s, v| {
                s.metrics.remove("a");
                s.metrics.insert(v, 1.0);
            }),
            ("a fifth meta tag", |s, _| {
                s.meta.insert("e", Str::Borrowed("v"));
            }),
            ("a fifth metric", |s, _| {
                s.metrics.insert("e", 1.0);
            }),
            ("a link", |s, _| s.links.push(SpanLink::default())),
            ("an event", |s, _| {
                s.events.push(SpanEvent {
                    name: "e".into(),
                    time_unix_nano: 0,
                    attributes: TagMap::new(),
                });
            }),
        ];
        for (what, change) in cases {
            let mut span = borrowed();
            change(&mut span, owned());
            assert!(span.owns_heap(), "{what}");
        }
    }
}
