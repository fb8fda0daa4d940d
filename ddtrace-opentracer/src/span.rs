//! The OpenTracing span: a Datadog span (owned until first activated, then a [`SharedSpan`])
//! with OpenTracing's tag and log semantics mapped onto Datadog fields.

use std::borrow::Cow;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::SystemTime;

use ddtrace_core::{AttributeValue, SharedSpan};
use opentracing_api::{LogField, TagValue, log_fields, tags};

use crate::context::{BaggageCell, SpanContext};

/// Runs `$body` with `$s` bound to the Datadog span: the owned one until the span is first
/// activated (or [`Span::dd_span`] is asked for), the shared one after.
macro_rules! dd {
    ($self:ident, $s:ident => $body:expr) => {
        match $self.shared.get() {
            Some(Sharing { span: $s, .. }) => $body,
            None => {
                let $s = $self
                    .owned
                    .get_mut()
                    .unwrap_or_else(PoisonError::into_inner);
                $body
            }
        }
    };
}

/// `service.name`: sets the span's Datadog service.
pub const SERVICE_NAME: &str = "service.name";
/// `resource.name`: sets the span's Datadog resource.
pub const RESOURCE_NAME: &str = "resource.name";
/// `span.type`: sets the span's Datadog type (`web`, `http`, `db`, `cache`, ...).
pub const SPAN_TYPE: &str = "span.type";

/// The event name of a log without an `event` field.
pub const DEFAULT_EVENT_NAME: &str = "log";
/// The `error.type` of an error log without an `error.kind` field.
pub const DEFAULT_ERROR_KIND: &str = "error";

/// Where the span's resource came from: later sources only override weaker ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum ResourceSource {
    /// The operation name (ddtrace-core's default).
    Name,
    /// The `db.statement` tag.
    Statement,
    /// `resource.name`.
    Explicit,
}

/// An OpenTracing span whose data is a Datadog span.
///
/// Tags, logs and the operation name go straight to the Datadog span (see the
/// [crate docs](crate#mapping) for the mapping); baggage lives in the span's
/// [`SpanContext`]. Dropping the span finishes it, like [`finish`](opentracing_api::Span::finish).
///
/// [`dd_span`](Span::dd_span) gives the underlying [`SharedSpan`] for Datadog-only
/// operations (`set_error`, `add_link`, ...).
///
/// Until it is first activated (or `dd_span` is called), the span is a plain owned Datadog
/// span: its tags are set without the lock a shared span takes for each of them.
pub struct Span {
    /// The Datadog span while nothing shares it (a finished or moved-out span is
    /// [`ddtrace_core::Span::none`]).
    owned: Mutex<ddtrace_core::Span>,
    /// The Datadog span once activated or handed out (`owned` is then empty).
    shared: OnceLock<Sharing>,
    context: SpanContext,
    resource: ResourceSource,
}

/// What a span needs once it is shared: the Datadog span, and the baggage cell its activation
/// records read (so that baggage set while it is active reaches the spans started under it).
/// Made together, on first activation.
struct Sharing {
    span: SharedSpan,
    baggage: BaggageCell,
}

impl std::fmt::Debug for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Span")
            .field("shared", &self.shared.get().map(|s| &s.span))
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

impl Span {
    pub(crate) fn new(owned: ddtrace_core::Span, context: SpanContext) -> Self {
        Span {
            owned: Mutex::new(owned),
            shared: OnceLock::new(),
            context,
            resource: ResourceSource::Name,
        }
    }

    /// The Datadog span, for what OpenTracing has no word for.
    pub fn dd_span(&self) -> &SharedSpan {
        &self.sharing().span
    }

    /// The baggage cell shared with activation records.
    pub(crate) fn baggage_cell(&self) -> &BaggageCell {
        &self.sharing().baggage
    }

    /// The span shared, from now on (its owned Datadog span moves into a shared one).
    fn sharing(&self) -> &Sharing {
        self.shared.get_or_init(|| {
            let mut owned = self.owned.lock().unwrap_or_else(PoisonError::into_inner);
            Sharing {
                span: std::mem::replace(&mut *owned, ddtrace_core::Span::none()).into_shared(),
                baggage: Arc::new(Mutex::new(Arc::clone(self.context.baggage()))),
            }
        })
    }

    /// Refreshes the context from the live span (after its service changed).
    fn refresh_context(&mut self) {
        if let Some(core) = dd!(self, s => s.context()) {
            self.context.set_core(Some(core));
        }
    }

    fn set_resource_from(&mut self, source: ResourceSource, resource: String) {
        if source >= self.resource {
            self.resource = source;
            dd!(self, s => s.set_resource(resource));
        }
    }

    /// Applies one OpenTracing tag (see the crate docs' mapping table).
    pub(crate) fn apply_tag(&mut self, key: Cow<'static, str>, value: TagValue) {
        match &*key {
            SERVICE_NAME => {
                dd!(self, s => s.set_service(value.to_string()));
                self.refresh_context();
            }
            RESOURCE_NAME => self.set_resource_from(ResourceSource::Explicit, value.to_string()),
            SPAN_TYPE => dd!(self, s => s.set_span_type(value.to_string())),
            tags::SAMPLING_PRIORITY => match priority(&value) {
                Some(p) if p > 0.0 => dd!(self, s => s.keep_trace()),
                Some(_) => dd!(self, s => s.drop_trace()),
                None => dd!(self, s => s.set_tag(key, to_core(value))),
            },
            tags::ERROR => match truthy(&value) {
                Some(error) => dd!(self, s => s.set_error_flag(error)),
                None => dd!(self, s => s.set_tag(key, to_core(value))),
            },
            tags::DB_STATEMENT => {
                let statement = value.to_string();
                self.set_resource_from(ResourceSource::Statement, statement.clone());
                dd!(self, s => s.set_tag(key, statement));
            }
            tags::SPAN_KIND | tags::PEER_SERVICE => {
                dd!(self, s => s.set_tag(key, value.to_string()))
            }
            _ => dd!(self, s => s.set_tag(key, to_core(value))),
        }
    }
}

impl opentracing_api::Span for Span {
    type Context = SpanContext;

    fn context(&self) -> &SpanContext {
        &self.context
    }

    fn set_operation_name(&mut self, name: impl Into<Cow<'static, str>>) {
        let name = name.into();
        if self.resource == ResourceSource::Name {
            dd!(self, s => s.set_resource(name.clone()));
        }
        dd!(self, s => s.set_name(name));
    }

    fn set_tag(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<TagValue>) {
        self.apply_tag(key.into(), value.into());
    }

    /// Records the log as a Datadog span event at its timestamp (now when none is given); error
    /// logs also mark the span as an error.
    fn log_fields(&mut self, timestamp: Option<SystemTime>, fields: Vec<LogField>) {
        let mut name: Option<Cow<'static, str>> = None;
        let mut error = ErrorFields::default();
        let mut attributes = Vec::with_capacity(fields.len());
        for LogField { key, value } in fields {
            match (&*key, &value) {
                (log_fields::EVENT, TagValue::String(event)) if name.is_none() => {
                    error.is_error |= event.as_ref() == "error";
                    name = Some(event.clone());
                    continue;
                }
                (log_fields::ERROR_KIND, v) => {
                    error.is_error = true;
                    error.kind = Some(v.to_string());
                }
                (log_fields::ERROR_OBJECT, v) => {
                    error.is_error = true;
                    error.object = Some(v.to_string());
                }
                (log_fields::MESSAGE, v) => error.message = Some(v.to_string()),
                (log_fields::STACK, v) => error.stack = Some(v.to_string()),
                _ => {}
            }
            attributes.push((key, to_attribute(value)));
        }
        let name = name.unwrap_or(Cow::Borrowed(DEFAULT_EVENT_NAME));
        let at = timestamp.unwrap_or_else(SystemTime::now);
        dd!(self, s => s.add_event_at(name, at, attributes));
        if error.is_error {
            let kind = error
                .kind
                .map_or(Cow::Borrowed(DEFAULT_ERROR_KIND), Cow::Owned);
            let message = error.message.or(error.object).unwrap_or_default();
            dd!(self, s => s.set_error_details(kind, message, error.stack));
        }
    }

    fn set_baggage_item(&mut self, key: &str, value: &str) {
        self.context
            .baggage_mut()
            .insert(key.to_string(), value.to_string());
        if let Some(Sharing { baggage: cell, .. }) = self.shared.get() {
            *cell.lock().unwrap_or_else(PoisonError::into_inner) =
                Arc::clone(self.context.baggage());
        }
    }

    fn finish_at(mut self, finish_time: SystemTime) {
        dd!(self, s => s.finish_at(finish_time));
    }

    fn finish(mut self) {
        dd!(self, s => s.finish());
    }
}

impl Drop for Span {
    fn drop(&mut self) {
        // A no-op if already finished.
        dd!(self, s => s.finish());
    }
}

/// The error-related fields of one log.
#[derive(Default)]
struct ErrorFields {
    is_error: bool,
    kind: Option<String>,
    object: Option<String>,
    message: Option<String>,
    stack: Option<String>,
}

/// A sampling priority from a tag value.
fn priority(value: &TagValue) -> Option<f64> {
    match value {
        TagValue::I64(v) => Some(*v as f64),
        TagValue::U64(v) => Some(*v as f64),
        TagValue::F64(v) if v.is_finite() => Some(*v),
        TagValue::String(s) => s.trim().parse::<f64>().ok().filter(|v| v.is_finite()),
        TagValue::Bool(_) | TagValue::F64(_) => None,
    }
}

/// The `error` tag as a flag: booleans, numbers (non-zero is an error), `"true"`/`"false"`.
fn truthy(value: &TagValue) -> Option<bool> {
    match value {
        TagValue::Bool(b) => Some(*b),
        TagValue::I64(v) => Some(*v != 0),
        TagValue::U64(v) => Some(*v != 0),
        TagValue::F64(v) => Some(*v != 0.0),
        TagValue::String(s) => match s.trim() {
            t if t.eq_ignore_ascii_case("true") || t == "1" => Some(true),
            t if t.eq_ignore_ascii_case("false") || t == "0" => Some(false),
            _ => None,
        },
    }
}

/// An OpenTracing tag value as a ddtrace-core one (strings to `meta`, the rest to `metrics`).
pub(crate) fn to_core(value: TagValue) -> ddtrace_core::TagValue {
    match value {
        TagValue::Bool(b) => ddtrace_core::TagValue::Bool(b),
        TagValue::I64(v) => ddtrace_core::TagValue::I64(v),
        TagValue::U64(v) => ddtrace_core::TagValue::U64(v),
        TagValue::F64(v) => ddtrace_core::TagValue::F64(v),
        TagValue::String(s) => ddtrace_core::TagValue::Str(s),
    }
}

/// A log field value as a span-event attribute (unsigned integers beyond `i64` as strings).
fn to_attribute(value: TagValue) -> AttributeValue {
    match value {
        TagValue::Bool(b) => AttributeValue::Bool(b),
        TagValue::I64(v) => AttributeValue::Int(v),
        TagValue::U64(v) => match i64::try_from(v) {
            Ok(v) => AttributeValue::Int(v),
            Err(_) => AttributeValue::String(v.to_string().into()),
        },
        TagValue::F64(v) => AttributeValue::Double(v),
        TagValue::String(s) => AttributeValue::String(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_parse_numbers_and_strings() {
        assert_eq!(priority(&TagValue::from(2_u8)), Some(2.0));
        assert_eq!(priority(&TagValue::from(-1_i8)), Some(-1.0));
        assert_eq!(priority(&TagValue::from("0")), Some(0.0));
        assert_eq!(priority(&TagValue::from("keep")), None);
        assert_eq!(priority(&TagValue::from(f64::NAN)), None);
        assert_eq!(priority(&TagValue::from(true)), None);
    }

    #[test]
    fn error_flags_parse_bools_numbers_and_strings() {
        assert_eq!(truthy(&TagValue::from(true)), Some(true));
        assert_eq!(truthy(&TagValue::from(0_u8)), Some(false));
        assert_eq!(truthy(&TagValue::from(1_i32)), Some(true));
        assert_eq!(truthy(&TagValue::from("TRUE")), Some(true));
        assert_eq!(truthy(&TagValue::from("0")), Some(false));
        assert_eq!(truthy(&TagValue::from("maybe")), None);
    }

    #[test]
    fn attributes_keep_their_type() {
        assert_eq!(
            to_attribute(TagValue::from(u64::MAX)),
            AttributeValue::String(u64::MAX.to_string().into())
        );
        assert_eq!(to_attribute(TagValue::from(3_u8)), AttributeValue::Int(3));
        assert_eq!(
            to_attribute(TagValue::from(0.5)),
            AttributeValue::Double(0.5)
        );
        assert_eq!(
            to_attribute(TagValue::from(true)),
            AttributeValue::Bool(true)
        );
    }
}
