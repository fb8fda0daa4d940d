//! A vendor tracer that plugs in its own scope management (a native active-span stack shared
//! with its native API) and supports only the `HttpHeaders` format.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use opentracing_api::{
    BaggageItems, Binary, BoxedTracer, ExtractCarrier, ExtractError, Format, HttpHeaders,
    InjectCarrier, InjectError, LogField, Scope, Span, SpanContext, StartSpanOptions, TagValue,
    TextMap, Tracer,
};

thread_local! {
    /// The vendor's native active-span stack (span ids).
    static NATIVE_STACK: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// The vendor's native "current span" API.
fn native_current_span() -> Option<u64> {
    NATIVE_STACK.with(|s| s.borrow().last().copied())
}

/// The vendor's native activation guard: pops its own entry on drop.
struct NativeGuard(u64);

impl NativeGuard {
    fn enter(id: u64) -> Self {
        NATIVE_STACK.with(|s| s.borrow_mut().push(id));
        NativeGuard(id)
    }
}

impl Drop for NativeGuard {
    fn drop(&mut self) {
        NATIVE_STACK.with(|s| {
            let mut s = s.borrow_mut();
            if let Some(pos) = s.iter().rposition(|id| *id == self.0) {
                s.remove(pos);
            }
        });
    }
}

#[derive(Debug, Clone, PartialEq)]
struct VendorContext {
    id: u64,
}

impl SpanContext for VendorContext {
    fn trace_id(&self) -> String {
        format!("{:016x}", self.id)
    }
    fn span_id(&self) -> String {
        format!("{:016x}", self.id)
    }
    fn baggage_items(&self) -> BaggageItems<'_> {
        BaggageItems::empty()
    }
}

type Finished = Arc<Mutex<Vec<(String, u64, Option<u64>)>>>;

#[derive(Debug)]
struct VendorSpan {
    name: Cow<'static, str>,
    context: VendorContext,
    parent: Option<u64>,
    finished: Finished,
    done: bool,
}

impl VendorSpan {
    fn record(&mut self) {
        if !std::mem::replace(&mut self.done, true) {
            self.finished
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((self.name.to_string(), self.context.id, self.parent));
        }
    }
}

impl Span for VendorSpan {
    type Context = VendorContext;
    fn context(&self) -> &VendorContext {
        &self.context
    }
    fn set_operation_name(&mut self, name: impl Into<Cow<'static, str>>) {
        self.name = name.into();
    }
    fn set_tag(&mut self, _key: impl Into<Cow<'static, str>>, _value: impl Into<TagValue>) {}
    fn log_fields(&mut self, _timestamp: Option<SystemTime>, _fields: Vec<LogField>) {}
    fn set_baggage_item(&mut self, _key: &str, _value: &str) {}
    fn finish_at(mut self, _finish_time: SystemTime) {
        self.record();
    }
}

impl Drop for VendorSpan {
    fn drop(&mut self) {
        self.record();
    }
}

#[derive(Debug, Clone, Default)]
struct VendorTracer {
    next_id: Arc<AtomicU64>,
    finished: Finished,
}

impl VendorTracer {
    fn finished(&self) -> Vec<(String, u64, Option<u64>)> {
        self.finished
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Tracer for VendorTracer {
    type SpanContext = VendorContext;
    type Span = VendorSpan;

    fn start_span_with_options(&self, options: StartSpanOptions<VendorContext>) -> VendorSpan {
        VendorSpan {
            name: options.operation_name,
            context: VendorContext {
                id: self.next_id.fetch_add(1, Ordering::Relaxed) + 1,
            },
            parent: options.references.first().map(|r| r.context().id),
            finished: Arc::clone(&self.finished),
            done: false,
        }
    }

    fn inject_context(
        &self,
        context: &VendorContext,
        carrier: InjectCarrier<'_>,
    ) -> Result<(), InjectError> {
        match carrier {
            InjectCarrier::HttpHeaders(c) => Ok(c.set("x-vendor-id", &context.id.to_string())?),
            other => Err(InjectError::UnsupportedFormat(other.format())),
        }
    }

    fn extract_context(&self, carrier: ExtractCarrier<'_>) -> Result<VendorContext, ExtractError> {
        match carrier {
            ExtractCarrier::HttpHeaders(c) => {
                let id = c
                    .get_ignore_ascii_case("x-vendor-id")
                    .ok_or(ExtractError::SpanContextNotFound)?;
                id.parse()
                    .map(|id| VendorContext { id })
                    .map_err(|_| ExtractError::SpanContextCorrupted(id.to_string()))
            }
            other => Err(ExtractError::UnsupportedFormat(other.format())),
        }
    }

    // The tracer's own scope management: OpenTracing's active span *is* the native one.
    fn activate(&self, span: &VendorSpan) -> Scope {
        Scope::from_guard(NativeGuard::enter(span.context.id))
    }

    fn active_span_context(&self) -> Option<VendorContext> {
        native_current_span().map(|id| VendorContext { id })
    }
}

#[test]
fn opentracing_activation_is_the_native_active_span() {
    let tracer = VendorTracer::default();
    let parent = tracer.start_span("parent");
    {
        let _scope = tracer.activate(&parent);
        assert_eq!(native_current_span(), Some(1));
        tracer.start_span("child").finish();
    }
    assert_eq!(native_current_span(), None);
    parent.finish();
    assert_eq!(
        tracer.finished(),
        [
            ("child".to_string(), 2, Some(1)),
            ("parent".to_string(), 1, None)
        ]
    );
}

#[test]
fn native_activation_parents_opentracing_spans() {
    let tracer = VendorTracer::default();
    let _native = NativeGuard::enter(42);
    assert_eq!(tracer.active_span_context(), Some(VendorContext { id: 42 }));
    tracer.start_span("ot child").finish();
    assert_eq!(tracer.finished(), [("ot child".to_string(), 1, Some(42))]);
}

#[test]
fn custom_scopes_work_through_the_erased_layer() {
    let vendor = VendorTracer::default();
    let tracer = BoxedTracer::new(vendor.clone());
    let parent = tracer.start_span("parent");
    let scope = tracer.activate(&parent);
    assert_eq!(native_current_span(), Some(1));
    assert_eq!(
        tracer.active_span_context().map(|c| c.span_id()),
        Some("0000000000000001".to_string())
    );
    tracer.start_span("child").finish();
    drop(scope);
    assert_eq!(native_current_span(), None);
    drop(parent);
    assert_eq!(
        vendor.finished(),
        [
            ("child".to_string(), 2, Some(1)),
            ("parent".to_string(), 1, None)
        ]
    );
}

#[test]
fn unsupported_formats_are_reported() {
    let tracer = VendorTracer::default();
    let span = tracer.start_span("s");
    let mut map: HashMap<String, String> = HashMap::new();
    let mut bytes = Vec::new();
    assert_eq!(
        tracer.inject(span.context(), TextMap, &mut map),
        Err(InjectError::UnsupportedFormat(Format::TextMap))
    );
    assert_eq!(
        tracer.inject(span.context(), Binary, &mut bytes),
        Err(InjectError::UnsupportedFormat(Format::Binary))
    );
    assert_eq!(
        tracer.extract(TextMap, &map),
        Err(ExtractError::UnsupportedFormat(Format::TextMap))
    );
    assert_eq!(
        tracer.extract(Binary, &bytes[..]),
        Err(ExtractError::UnsupportedFormat(Format::Binary))
    );
    assert!(map.is_empty());
    assert!(bytes.is_empty());

    // The erased layer passes the error through.
    let boxed = BoxedTracer::new(tracer.clone());
    let boxed_span = boxed.start_span("b");
    assert_eq!(
        boxed.inject(boxed_span.context(), Binary, &mut bytes),
        Err(InjectError::UnsupportedFormat(Format::Binary))
    );

    // The supported format works.
    tracer
        .inject(span.context(), HttpHeaders, &mut map)
        .unwrap();
    assert_eq!(
        map,
        HashMap::from([("x-vendor-id".to_string(), "1".to_string())])
    );
    assert_eq!(
        tracer.extract(HttpHeaders, &map),
        Ok(VendorContext { id: 1 })
    );
}
