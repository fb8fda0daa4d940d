//! References between spans: `ChildOf` and `FollowsFrom`.

use std::fmt;

/// The kind of a [`Reference`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReferenceType {
    /// The referenced span depends on the new span's result (a synchronous child).
    ChildOf,
    /// The referenced span does not depend on the new span (for example a span started by a
    /// message the referenced span sent, or follow-up work after a response).
    FollowsFrom,
}

impl ReferenceType {
    /// The OpenTracing name: `"child_of"` or `"follows_from"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReferenceType::ChildOf => "child_of",
            ReferenceType::FollowsFrom => "follows_from",
        }
    }
}

impl fmt::Display for ReferenceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A causal reference from a new span to the [`SpanContext`](crate::SpanContext) `C` of
/// another span.
///
/// A span may have any number of references; the usual case is one `ChildOf` to its parent.
/// Give them to [`SpanBuilder::child_of`](crate::SpanBuilder::child_of),
/// [`SpanBuilder::follows_from`](crate::SpanBuilder::follows_from) or
/// [`SpanBuilder::add_reference`](crate::SpanBuilder::add_reference).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference<C> {
    /// The new span is a child of the referenced one, which waits for it.
    ChildOf(C),
    /// The new span follows from the referenced one, which does not wait for it.
    FollowsFrom(C),
}

impl<C> Reference<C> {
    /// The referenced context.
    pub fn context(&self) -> &C {
        match self {
            Reference::ChildOf(c) | Reference::FollowsFrom(c) => c,
        }
    }

    /// The referenced context, by value.
    pub fn into_context(self) -> C {
        match self {
            Reference::ChildOf(c) | Reference::FollowsFrom(c) => c,
        }
    }

    /// Whether this is `ChildOf` or `FollowsFrom`.
    pub fn reference_type(&self) -> ReferenceType {
        match self {
            Reference::ChildOf(_) => ReferenceType::ChildOf,
            Reference::FollowsFrom(_) => ReferenceType::FollowsFrom,
        }
    }

    /// The same reference with its context mapped by `f` (or `None` if `f` returns `None`).
    ///
    /// # Examples
    ///
    /// ```
    /// use opentracing_api::Reference;
    ///
    /// let r = Reference::FollowsFrom(3_u8);
    /// assert_eq!(r.filter_map(|c| Some(u16::from(c) * 2)), Some(Reference::FollowsFrom(6_u16)));
    /// ```
    pub fn filter_map<D>(self, f: impl FnOnce(C) -> Option<D>) -> Option<Reference<D>> {
        Some(match self {
            Reference::ChildOf(c) => Reference::ChildOf(f(c)?),
            Reference::FollowsFrom(c) => Reference::FollowsFrom(f(c)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors() {
        let child = Reference::ChildOf("a");
        let follows = Reference::FollowsFrom("b");
        assert_eq!(*child.context(), "a");
        assert_eq!(follows.clone().into_context(), "b");
        assert_eq!(child.reference_type(), ReferenceType::ChildOf);
        assert_eq!(follows.reference_type(), ReferenceType::FollowsFrom);
        assert_eq!(ReferenceType::ChildOf.to_string(), "child_of");
        assert_eq!(ReferenceType::FollowsFrom.as_str(), "follows_from");
    }

    #[test]
    fn filter_map_keeps_the_kind_or_drops() {
        assert_eq!(
            Reference::ChildOf(1).filter_map(|c| Some(c + 1)),
            Some(Reference::ChildOf(2))
        );
        assert_eq!(Reference::ChildOf(1).filter_map(|_| None::<i32>), None);
    }
}
