//! The `SpanContext` trait: what crosses process boundaries.

use std::any::Any;
use std::fmt;

/// The state of a span that is propagated to children and across process boundaries: the
/// vendor's trace and span identifiers plus the baggage items.
///
/// A context is immutable; [`Span::set_baggage_item`](crate::Span::set_baggage_item) gives
/// the span a new one. Tracers use a concrete type that also implements [`Clone`] (the
/// [`Tracer::SpanContext`](crate::Tracer::SpanContext) bound); this trait itself is
/// dyn-compatible, which is how [`BoxedSpanContext`](crate::BoxedSpanContext) erases it.
///
/// # Identifiers
///
/// [`trace_id`](SpanContext::trace_id) and [`span_id`](SpanContext::span_id) follow the
/// OpenTracing *trace identifiers* proposal: they return the vendor's identifiers as strings,
/// so a logging library can correlate log lines with traces without knowing the vendor.
/// A tracer that has no identifiers (the no-op tracer) returns empty strings.
///
/// # Examples
///
/// ```
/// use opentracing_api::{global_tracer, SpanContext};
///
/// let span = global_tracer().start_span("op");
/// let ctx = span.context();
/// // The no-op tracer (the default global tracer) has no identifiers and no baggage.
/// assert_eq!(ctx.trace_id(), "");
/// assert_eq!(ctx.baggage_items().count(), 0);
/// ```
pub trait SpanContext: Any + Send + Sync + fmt::Debug {
    /// The trace identifier, as the vendor formats it (empty if the tracer has none).
    fn trace_id(&self) -> String;

    /// The span identifier, as the vendor formats it (empty if the tracer has none).
    fn span_id(&self) -> String;

    /// Iterates over the baggage items, `(key, value)`, in the tracer's order.
    fn baggage_items(&self) -> BaggageItems<'_>;

    /// The value of the baggage item `key`.
    ///
    /// The default implementation searches [`baggage_items`](SpanContext::baggage_items);
    /// tracers with a map override it.
    fn baggage_item(&self, key: &str) -> Option<&str> {
        self.baggage_items()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }
}

/// An iterator over a context's baggage items, returned by
/// [`SpanContext::baggage_items`].
///
/// It boxes the tracer's own iterator; an empty one ([`BaggageItems::empty`]) does not
/// allocate.
pub struct BaggageItems<'a> {
    inner: Box<dyn Iterator<Item = (&'a str, &'a str)> + 'a>,
}

impl<'a> BaggageItems<'a> {
    /// Wraps a tracer's iterator of `(key, value)` pairs.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use opentracing_api::BaggageItems;
    ///
    /// let map = BTreeMap::from([("k".to_string(), "v".to_string())]);
    /// let items: Vec<_> =
    ///     BaggageItems::new(map.iter().map(|(k, v)| (k.as_str(), v.as_str()))).collect();
    /// assert_eq!(items, [("k", "v")]);
    /// ```
    pub fn new(iter: impl Iterator<Item = (&'a str, &'a str)> + 'a) -> Self {
        BaggageItems {
            inner: Box::new(iter),
        }
    }

    /// No baggage.
    pub fn empty() -> Self {
        BaggageItems::new(std::iter::empty())
    }
}

impl<'a> Iterator for BaggageItems<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl fmt::Debug for BaggageItems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BaggageItems").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Ctx(Vec<(String, String)>);

    impl SpanContext for Ctx {
        fn trace_id(&self) -> String {
            "t".into()
        }
        fn span_id(&self) -> String {
            "s".into()
        }
        fn baggage_items(&self) -> BaggageItems<'_> {
            BaggageItems::new(self.0.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        }
    }

    #[test]
    fn default_baggage_item_searches_the_iterator() {
        let ctx = Ctx(vec![("a".into(), "1".into()), ("b".into(), "2".into())]);
        assert_eq!(ctx.baggage_item("b"), Some("2"));
        assert_eq!(ctx.baggage_item("c"), None);
        assert_eq!(ctx.baggage_items().size_hint(), (2, Some(2)));
    }

    #[test]
    fn empty_has_nothing() {
        assert_eq!(BaggageItems::empty().next(), None);
        assert_eq!(
            format!("{:?}", BaggageItems::empty()),
            "BaggageItems { .. }"
        );
    }

    #[test]
    fn trait_is_dyn_compatible() {
        let ctx: Box<dyn SpanContext> = Box::new(Ctx(Vec::new()));
        assert_eq!(ctx.trace_id(), "t");
        assert_eq!(ctx.span_id(), "s");
    }
}
