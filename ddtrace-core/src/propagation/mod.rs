//! Distributed tracing: carrying a trace's context across process boundaries in headers.
//!
//! A [`Propagator`] injects a context into any header map ([`Injector`]) and extracts one from
//! any header map ([`Extractor`]), in the configured [styles](PropagationStyle):
//!
//! | style | headers |
//! |---|---|
//! | `datadog` | `x-datadog-trace-id`, `-parent-id`, `-sampling-priority`, `-origin`, `-tags` |
//! | `tracecontext` | W3C `traceparent`, `tracestate` (our `dd=` member first) |
//! | `b3multi` | `x-b3-traceid`, `x-b3-spanid`, `x-b3-sampled`, `x-b3-flags` |
//! | `b3` | `b3: <trace>-<span>-<0\|1\|d>[-<parent>]` |
//! | `baggage` | W3C `baggage` |
//!
//! Trace ids are 128-bit in every style (`x-datadog-tags` `_dd.p.tid` carries the high half for
//! the Datadog headers). Malformed headers never panic: each is rejected (no context, or the
//! partial context the rules allow), counted ([`malformed_header_counts`]) and explained in a
//! debug line.
//!
//! ```
//! use std::collections::HashMap;
//! use ddtrace_core::propagation::{InjectContext, Propagator};
//! use ddtrace_core::TraceId;
//!
//! let propagator = Propagator::default(); // datadog,tracecontext,baggage
//! let mut headers: HashMap<String, String> = HashMap::new();
//! let ctx = InjectContext::new(TraceId::from_parts(0x6656_8d8f_0000_0000, 42), 7).priority(Some(1));
//! propagator.inject(&ctx, &mut headers);
//! assert_eq!(headers["x-datadog-trace-id"], "42");
//!
//! let extracted = propagator.extract(&headers).unwrap();
//! let remote = extracted.context.unwrap();
//! assert_eq!(remote.trace_id, ctx.trace_id);
//! assert_eq!(remote.span_id, 7);
//! assert_eq!(remote.sampling_priority, Some(1));
//! ```

mod b3;
mod baggage;
mod carrier;
mod datadog;
pub(crate) use datadog::decision_maker;
mod stats;
mod style;
mod tracecontext;

use std::cell::Cell;

use smallvec::SmallVec;

use crate::config::Config;
use crate::context::RemoteContext;
use crate::span_data::{SpanLink, Str, TagMap, TraceId};

pub use carrier::{Extractor, HeaderKey, Injector};
pub use stats::{MalformedReason, malformed_header_count, malformed_header_counts};
pub use style::{DEFAULT_PROPAGATION_STYLES, PropagationStyle, parse_style_list};

pub use crate::config::{DEFAULT_PROPAGATION_STYLE, DEFAULT_X_DATADOG_TAGS_MAX_LENGTH};
/// Most baggage items injected or extracted.
pub const BAGGAGE_MAX_ITEMS: usize = 64;
/// Largest `baggage` header injected or extracted, in bytes.
pub const BAGGAGE_MAX_BYTES: usize = 8192;
/// Most non-Datadog `tracestate` members kept (32 members in all with ours).
pub const TRACESTATE_MAX_OTHER_MEMBERS: usize = 31;
/// Longest `dd=` tracestate value.
pub const TRACESTATE_DD_MAX_CHARS: usize = 256;

/// Meta key of a propagation error, set on the local root.
pub const PROPAGATION_ERROR_KEY: &str = "_dd.propagation_error";
/// Meta key of the last Datadog parent id (16 hex digits) when W3C and Datadog headers disagree
/// on the parent, set on the local root.
pub const LAST_PARENT_ID_KEY: &str = "_dd.parent_id";
/// The propagated tag carrying the high 64 bits of the trace id.
pub const TID_KEY: &str = "_dd.p.tid";
/// The propagated decision-maker tag.
pub const DECISION_MAKER_KEY: &str = "_dd.p.dm";

static NO_TAGS: TagMap<Str> = TagMap::new();
static NO_BAGGAGE: TagMap<String> = TagMap::new();

/// What to inject: the identity of the span that makes the outgoing call, and the trace-wide
/// state that travels with it. Borrowed, so building one costs nothing.
#[derive(Clone, Copy, Debug)]
pub struct InjectContext<'a> {
    /// The trace id (128 bits).
    pub trace_id: TraceId,
    /// The id of the span making the call (the downstream parent).
    pub span_id: u64,
    /// The trace's sampling priority, once decided (decide before injecting).
    pub sampling_priority: Option<i32>,
    /// The trace's origin (`_dd.origin`).
    pub origin: Option<&'a str>,
    /// The trace's `_dd.p.*` tags, the decision maker `_dd.p.dm` included. `_dd.p.tid` is
    /// ignored: it is derived from `trace_id`.
    pub propagation_tags: &'a TagMap<Str>,
    /// The upstream W3C `tracestate`, if the trace came in with one: its other vendors' members
    /// are kept (after our `dd=` member, which is rebuilt).
    pub tracestate: Option<&'a str>,
    /// Baggage items.
    pub baggage: &'a TagMap<String>,
}

impl<'a> InjectContext<'a> {
    /// A context with no priority, origin, tags, tracestate or baggage.
    pub fn new(trace_id: TraceId, span_id: u64) -> Self {
        InjectContext {
            trace_id,
            span_id,
            sampling_priority: None,
            origin: None,
            propagation_tags: &NO_TAGS,
            tracestate: None,
            baggage: &NO_BAGGAGE,
        }
    }

    /// Sets the sampling priority.
    pub fn priority(mut self, priority: Option<i32>) -> Self {
        self.sampling_priority = priority;
        self
    }

    /// Sets the origin.
    pub fn origin(mut self, origin: Option<&'a str>) -> Self {
        self.origin = origin;
        self
    }

    /// Sets the propagated tags.
    pub fn tags(mut self, tags: &'a TagMap<Str>) -> Self {
        self.propagation_tags = tags;
        self
    }

    /// Sets the upstream tracestate.
    pub fn tracestate(mut self, tracestate: Option<&'a str>) -> Self {
        self.tracestate = tracestate;
        self
    }

    /// Sets the baggage.
    pub fn baggage(mut self, baggage: &'a TagMap<String>) -> Self {
        self.baggage = baggage;
        self
    }
}

/// What [`Propagator::inject`] reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InjectOutcome {
    /// `_dd.propagation_error` to set on the local root: `inject_max_size` (x-datadog-tags over
    /// the limit, omitted) or `encoding_error` (a tag that cannot be encoded, header omitted).
    pub propagation_error: Option<&'static str>,
}

/// What [`Propagator::extract`] found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Extracted {
    /// The upstream trace context, when a style yielded a valid one. Its `baggage` is the
    /// extracted baggage, its `links` the contexts of other styles that named another trace
    /// (`reason=terminated_context`).
    pub context: Option<RemoteContext>,
    /// The extracted baggage (also in `context.baggage` when there is a context): baggage
    /// travels even without a trace context.
    pub baggage: TagMap<String>,
    /// The style the context came from.
    pub style: Option<PropagationStyle>,
    /// `_dd.propagation_error` for the local root (`extract_max_size`, `decoding_error`,
    /// `malformed_tid <hex>`), from the style the context came from (also in
    /// `context.local_root_tags`).
    pub propagation_error: Option<String>,
    /// `_dd.parent_id` for the local root: the last Datadog parent (16 hex digits) when the W3C
    /// parent of the same trace differs from the Datadog one (the W3C one becomes the parent);
    /// also in `context.local_root_tags`.
    pub last_parent_id: Option<String>,
}

impl Extracted {
    /// The meta tags the tracer sets on the local root that continues this context
    /// (`_dd.propagation_error`, `_dd.parent_id`).
    pub fn root_tags(&self) -> Vec<(&'static str, String)> {
        root_tags(&self.propagation_error, &self.last_parent_id).collect()
    }
}

/// One style's extraction (before contexts from several styles are reconciled).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct StyleContext {
    pub trace_id: TraceId,
    pub span_id: u64,
    pub sampling_priority: Option<i32>,
    pub origin: Option<String>,
    pub tags: TagMap<Str>,
    pub propagation_error: Option<String>,
    /// tracecontext only: the tracestate kept (after limits).
    pub tracestate: Option<String>,
    /// tracecontext only: the `p:` value of the `dd=` member.
    pub last_parent_id: Option<u64>,
}

/// Injects and extracts trace context in the configured styles.
#[derive(Clone, Debug)]
pub struct Propagator {
    inject: Vec<PropagationStyle>,
    extract: Vec<PropagationStyle>,
    tags_max_length: usize,
}

impl Default for Propagator {
    /// The default styles (`datadog,tracecontext,baggage`) both ways, 512-byte tags.
    fn default() -> Self {
        Propagator::with_styles(
            DEFAULT_PROPAGATION_STYLES.to_vec(),
            DEFAULT_PROPAGATION_STYLES.to_vec(),
        )
    }
}

impl Propagator {
    /// The propagator a configuration asks for (`DD_TRACE_PROPAGATION_STYLE[_INJECT|_EXTRACT]`,
    /// `DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH`).
    pub fn new(config: &Config) -> Self {
        Propagator::with_styles(
            config.propagation_style_inject().to_vec(),
            config.propagation_style_extract().to_vec(),
        )
        .x_datadog_tags_max_length(config.x_datadog_tags_max_length())
    }

    /// Explicit styles (in order) for injection and extraction.
    pub fn with_styles(inject: Vec<PropagationStyle>, extract: Vec<PropagationStyle>) -> Self {
        Propagator {
            inject,
            extract,
            tags_max_length: DEFAULT_X_DATADOG_TAGS_MAX_LENGTH,
        }
    }

    /// The `x-datadog-tags` length limit (0 turns the header off).
    pub fn x_datadog_tags_max_length(mut self, bytes: usize) -> Self {
        self.tags_max_length = bytes;
        self
    }

    /// The injection styles.
    pub fn inject_styles(&self) -> &[PropagationStyle] {
        &self.inject
    }

    /// The extraction styles.
    pub fn extract_styles(&self) -> &[PropagationStyle] {
        &self.extract
    }

    /// Writes `ctx` into `carrier` in every injection style. Baggage is injected even for a zero
    /// trace id; the trace styles are not.
    pub fn inject(&self, ctx: &InjectContext<'_>, carrier: &mut dyn Injector) -> InjectOutcome {
        let mut outcome = InjectOutcome::default();
        if self.inject.contains(&PropagationStyle::Baggage) {
            baggage::inject(ctx.baggage, carrier);
        }
        if ctx.trace_id.0 == 0 || ctx.span_id == 0 {
            crate::log::debug!(
                "propagation: not injecting a context with a zero id ({:?}, span {})",
                ctx.trace_id,
                ctx.span_id
            );
            return outcome;
        }
        for style in &self.inject {
            match style {
                PropagationStyle::Datadog => {
                    if let Some(e) = datadog::inject(ctx, self.tags_max_length, carrier) {
                        outcome.propagation_error = Some(e);
                    }
                }
                PropagationStyle::TraceContext => tracecontext::inject(ctx, carrier),
                PropagationStyle::B3Multi => b3::inject_multi(ctx, carrier),
                PropagationStyle::B3 => b3::inject_single(ctx, carrier),
                PropagationStyle::Baggage => {}
            }
        }
        outcome
    }

    /// Reads a context from `carrier`. Every extraction style is tried; the first that yields a
    /// valid context wins. Of the others, a tracecontext context of the same trace contributes
    /// its tracestate (and, when its parent differs, becomes the parent, the Datadog parent
    /// going to `_dd.parent_id`); a context of another trace becomes a span link
    /// (`reason=terminated_context`). `None` when there is neither a context nor baggage.
    pub fn extract(&self, carrier: &dyn Extractor) -> Option<Extracted> {
        let mut found = self.found(carrier);
        let baggage = self.baggage(carrier);
        let mut remote = RemoteContext::default();
        match resolve(&mut remote, &mut found) {
            Some(Resolved {
                style,
                propagation_error,
                last_parent_id,
            }) => {
                remote.baggage = baggage.clone();
                Some(Extracted {
                    context: Some(remote),
                    baggage,
                    style: Some(style),
                    propagation_error,
                    last_parent_id,
                })
            }
            None if !baggage.is_empty() => Some(Extracted {
                baggage,
                ..Extracted::default()
            }),
            None => None,
        }
    }

    /// The trace context of [`extract`](Self::extract) alone (its baggage in it), built where
    /// it stays: what the tracer continues. `None` without one.
    pub(crate) fn extract_context(&self, carrier: &dyn Extractor) -> Option<RemoteContext> {
        let mut found = self.found(carrier);
        // Read even when it is not kept, so a malformed baggage header is counted as always.
        let baggage = self.baggage(carrier);
        let mut remote = RemoteContext::default();
        resolve(&mut remote, &mut found)?;
        remote.baggage = baggage;
        Some(remote)
    }

    /// The contexts the extraction styles find, in their order.
    fn found(&self, carrier: &dyn Extractor) -> Found {
        // The default styles yield two contexts: kept on the stack.
        let mut found: Found = SmallVec::new();
        for &style in &self.extract {
            let ctx = match style {
                PropagationStyle::Datadog => datadog::extract(carrier, self.tags_max_length),
                PropagationStyle::TraceContext => tracecontext::extract(carrier),
                PropagationStyle::B3Multi => b3::extract_multi(carrier),
                PropagationStyle::B3 => b3::extract_single(carrier),
                PropagationStyle::Baggage => None,
            };
            if let Some(ctx) = ctx {
                found.push((style, ctx));
            }
        }
        found
    }

    /// The baggage, when that style is extracted.
    fn baggage(&self, carrier: &dyn Extractor) -> TagMap<String> {
        if self.extract.contains(&PropagationStyle::Baggage) {
            baggage::extract(carrier)
        } else {
            TagMap::new()
        }
    }
}

/// The contexts the extraction styles found, in the order of the styles.
type Found = SmallVec<[(PropagationStyle, StyleContext); 2]>;

/// What [`resolve`] reports besides the context.
struct Resolved {
    style: PropagationStyle,
    propagation_error: Option<String>,
    last_parent_id: Option<String>,
}

/// Reconciles the contexts of several styles (see [`Propagator::extract`]) into `remote` (a
/// default one), left as it is when none was found.
fn resolve(remote: &mut RemoteContext, found: &mut Found) -> Option<Resolved> {
    let datadog_span = found
        .iter()
        .find(|(s, _)| *s == PropagationStyle::Datadog)
        .map(|(_, c)| c.span_id);
    // The contexts are taken apart where they are: moving one copies its 336 bytes.
    let ((primary_style, primary), others) = found.split_first_mut()?;
    remote.trace_id = primary.trace_id;
    remote.span_id = primary.span_id;
    remote.sampling_priority = primary.sampling_priority;
    remote.origin = primary.origin.take();
    remote.propagation_tags = std::mem::take(&mut primary.tags);
    remote.tracestate = primary.tracestate.take();
    // A tracecontext primary reports its own `p:` (the reference does the same).
    let mut last_parent_id = primary.last_parent_id;
    for (style, other) in others {
        let style = *style;
        if other.trace_id != remote.trace_id {
            if other.trace_id.0 != 0 && other.span_id != 0 {
                let mut attributes = TagMap::new();
                attributes.insert("reason", Str::Borrowed("terminated_context"));
                attributes.insert("context_headers", Str::Borrowed(style.as_str()));
                remote.links.push(SpanLink {
                    trace_id: other.trace_id,
                    span_id: other.span_id,
                    attributes,
                    tracestate: match (style, other.tracestate.take()) {
                        (PropagationStyle::TraceContext, Some(ts)) => Str::Owned(ts),
                        _ => Str::Borrowed(""),
                    },
                    flags: Some(u32::from(other.sampling_priority.is_some_and(|p| p > 0))),
                });
            }
        } else if style == PropagationStyle::TraceContext {
            if let Some(ts) = other.tracestate.take() {
                remote.tracestate = Some(ts);
            }
            if remote.span_id != other.span_id {
                if let Some(p) = other.last_parent_id {
                    last_parent_id = Some(p);
                } else if let Some(dd) = datadog_span {
                    last_parent_id = Some(dd);
                }
                remote.span_id = other.span_id;
            }
        }
    }
    let resolved = Resolved {
        style: *primary_style,
        propagation_error: primary.propagation_error.take(),
        last_parent_id: last_parent_id.map(hex16),
    };
    for (k, v) in root_tags(&resolved.propagation_error, &resolved.last_parent_id) {
        remote.local_root_tags.insert(k, v);
    }
    Some(resolved)
}

/// The local root's meta tags for an extraction's error and last parent.
fn root_tags(
    propagation_error: &Option<String>,
    last_parent_id: &Option<String>,
) -> impl Iterator<Item = (&'static str, String)> {
    let error = propagation_error
        .iter()
        .map(|e| (PROPAGATION_ERROR_KEY, e.clone()));
    let parent = last_parent_id
        .iter()
        .map(|p| (LAST_PARENT_ID_KEY, p.clone()));
    error.chain(parent)
}

/// The value of `s`, exactly `len` (1 to 32) lowercase hex digits; `None` otherwise. One pass,
/// the value kept in a register (`from_str_radix`, after a check of the digits, takes two and
/// checks for overflow at every digit).
pub(crate) fn lower_hex(s: &str, len: usize) -> Option<u128> {
    if s.len() != len || len == 0 || len > 32 {
        return None;
    }
    let mut v: u128 = 0;
    for b in s.bytes() {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => return None,
        };
        v = (v << 4) | u128::from(d);
    }
    Some(v)
}

/// The value of `s`, ASCII decimal digits only (no sign, no spaces, at least one), if it fits
/// in a `u64`.
pub(crate) fn decimal_u64(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for b in s.bytes() {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some(v)
}

/// `s` split at the first `sep` (an ASCII byte), like `str::split_once` with a `char`, which
/// sets up a `memchr` search: slower on the few bytes of a header field.
pub(crate) fn split_once_byte(s: &str, sep: u8) -> Option<(&str, &str)> {
    let i = s.bytes().position(|b| b == sep)?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// The parts of `s` between each `sep` (an ASCII byte), as `str::split` with a `char` gives
/// them (see [`split_once_byte`]).
pub(crate) fn split_byte(s: &str, sep: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let r = rest?;
        Some(match split_once_byte(r, sep) {
            Some((part, tail)) => {
                rest = Some(tail);
                part
            }
            None => {
                rest = None;
                r
            }
        })
    })
}

/// Appends `v` in decimal to `out`.
pub(crate) fn push_decimal(out: &mut String, v: u64) {
    out.push_str(itoa::Buffer::new().format(v));
}

/// Appends the low `len` hex digits of `v` (up to 32), lowercase and zero-padded, to `out`.
pub(crate) fn push_hex(out: &mut String, v: u128, len: usize) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let len = len.min(32);
    let mut buf = [0u8; 32];
    for (i, d) in buf[..len].iter_mut().enumerate() {
        *d = DIGITS[((v >> (4 * (len - 1 - i))) & 0xf) as usize];
    }
    // ASCII digits.
    out.push_str(std::str::from_utf8(&buf[..len]).unwrap_or_default());
}

/// `v` as 16 lowercase hex digits, in a string just long enough (see [`exact`]).
pub(crate) fn hex16(v: u64) -> String {
    let mut hex = String::with_capacity(16);
    push_hex(&mut hex, u128::from(v), 16);
    hex
}

/// `v` in decimal, in a string just long enough (see [`exact`]).
pub(crate) fn decimal(v: u64) -> Str {
    Str::Owned(itoa::Buffer::new().format(v).to_owned())
}

/// A header value's text with no spare capacity: a carrier that turns a `String` into shared
/// bytes (`http::HeaderMap`'s does) then needs no second allocation for it.
pub(crate) fn exact(s: String) -> Str {
    if s.len() == s.capacity() {
        Str::Owned(s)
    } else {
        Str::Owned(s.as_str().to_owned())
    }
}

/// A header value built by `write` in this thread's scratch buffer, then copied into a string
/// of exactly its length (see [`exact`]): one allocation, whatever the value's length. Gives
/// back what `write` returns too.
pub(crate) fn built<R>(write: impl FnOnce(&mut String) -> R) -> (Str, R) {
    thread_local! {
        /// As long as the longest value built on the thread: a tracestate, with the upstream
        /// members kept, or `x-datadog-tags`, within its limit.
        static SCRATCH: Cell<String> = const { Cell::new(String::new()) };
    }
    let mut buf = SCRATCH.try_with(Cell::take).unwrap_or_default();
    buf.clear();
    let r = write(&mut buf);
    let value = Str::Owned(buf.as_str().to_owned());
    let _ = SCRATCH.try_with(|s| s.set(buf));
    (value, r)
}

/// A propagated tag as stored (`key` is `_dd.p.*`): the decision maker's key, and its usual
/// values, are constants; the rest are copied.
pub(crate) fn propagated_tag(key: &str, value: &str) -> (Str, Str) {
    if key == DECISION_MAKER_KEY {
        (
            Str::Borrowed(DECISION_MAKER_KEY),
            decision_maker_value(value),
        )
    } else {
        (Str::Owned(key.to_owned()), Str::Owned(value.to_owned()))
    }
}

/// `_dd.p.dm` values of the known mechanisms, so the common ones cost no allocation.
const DECISION_MAKERS: [&str; 16] = [
    "-0", "-1", "-2", "-3", "-4", "-5", "-6", "-7", "-8", "-9", "-10", "-11", "-12", "-13", "-14",
    "-15",
];

/// The `_dd.p.dm` value of mechanism `m` (`-<m>`).
pub(crate) fn mechanism_value(m: u8) -> Str {
    match DECISION_MAKERS.get(usize::from(m)) {
        Some(s) => Str::Borrowed(s),
        None => Str::Owned(format!("-{m}")),
    }
}

/// A `_dd.p.dm` value as stored: a valid one names its mechanism one way only (no sign but
/// `-`, no leading zero), so it is the mechanism's constant when there is one.
fn decision_maker_value(value: &str) -> Str {
    match decision_maker(value) {
        Some(m) if usize::from(m) < DECISION_MAKERS.len() => mechanism_value(m),
        _ => Str::Owned(value.to_owned()),
    }
}

/// A sampling priority as a header value: the usual ones are constants.
pub(crate) fn priority_value(p: i32) -> Str {
    match p {
        -1 => Str::Borrowed("-1"),
        0 => Str::Borrowed("0"),
        1 => Str::Borrowed("1"),
        2 => Str::Borrowed("2"),
        p => exact(p.to_string()),
    }
}

#[cfg(test)]
mod tests;
