//! The tracer: starts spans, owns the configuration and the exporter; and the process-wide
//! tracer reachable from anywhere, like the reference's `from ddtrace import tracer`.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, SystemTime};

use crate::clock::Instant;

use crate::config::Config;
use crate::context::CtxInner;
use crate::context::{self, NotInGroup, Parent, SpanContext};
use crate::correlation::LogCorrelation;
use crate::error;
use crate::exporter::{Exporter, NoopExporter};
use crate::finalize::{Finalizer, TOP_LEVEL_KEY};
use crate::intern::intern;
use crate::log::{self, Level};
use crate::propagation::{Extractor, InjectContext, Injector, PROPAGATION_ERROR_KEY, Propagator};
use crate::rates::AgentRates;
use crate::sampler::{Sampler, SamplingInput};
use crate::span::{ActiveSpan, OpenSpan, RootSpan, Span, SpanGuard, SpanMut, unix_ns};
use crate::span_data::{SpanData, SpanLink, Str, TagMap};
use crate::tag::Stored;
use crate::tag::TagValue;
use crate::trace::{
    AUTO_KEEP, Decision, MECHANISM_DEFAULT, MECHANISM_MANUAL, SpanStats, TraceSeed, TraceState,
};

/// Shared state of a tracer.
pub(crate) struct TracerInner {
    pub(crate) config: Config,
    /// The default service, interned so every span can borrow it for free.
    pub(crate) service: Str,
    pub(crate) exporter: Box<dyn Exporter>,
    pub(crate) finalizer: Arc<Finalizer>,
    pub(crate) stats: SpanStats,
    /// Decides, once per trace at its local root, whether the trace is kept.
    pub(crate) sampler: Sampler,
    /// Injects and extracts trace context in the configured styles.
    pub(crate) propagator: Propagator,
    /// `DD_ENV`, or empty: the agent's rate table is keyed by it.
    pub(crate) env: &'static str,
    /// `DD_VERSION`, or empty, interned (for log correlation).
    pub(crate) version: &'static str,
}

/// A tracer: starts spans and sends finished traces to its exporter.
///
/// Cheap to clone (one shared instance). Most code uses the process-wide tracer through
/// [`tracer()`](crate::tracer); tests build their own with [`Tracer::with_exporter`] and a
/// [`Collector`](crate::Collector).
///
/// # Examples
///
/// ```
/// use ddtrace_core::{Collector, Config, Tracer};
///
/// let collector = Collector::new();
/// let tracer = Tracer::with_exporter(Config::builder().service("svc").build(), collector.clone());
/// {
///     let span = tracer.trace("sandwich.make");
///     span.set_tag("num_ingredients", 2);
///     let _child = tracer.trace("get_ingredients"); // a child of sandwich.make
/// }
/// let make = collector.span("sandwich.make").unwrap();
/// let get = collector.span("get_ingredients").unwrap();
/// assert_eq!(get.parent_id, make.span_id);
/// assert_eq!(make.metrics.get("num_ingredients"), Some(&2.0));
/// ```
#[derive(Clone)]
pub struct Tracer {
    pub(crate) inner: Arc<TracerInner>,
}

// A panic while the tracer is in use cannot leave it inconsistent: its locks are taken only for
// short pushes and takes, and poisoned locks are recovered.
impl std::panic::UnwindSafe for Tracer {}
impl std::panic::RefUnwindSafe for Tracer {}

impl std::fmt::Debug for Tracer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracer")
            .field("service", &self.inner.config.service)
            .field("enabled", &self.inner.config.enabled)
            .finish_non_exhaustive()
    }
}

impl Tracer {
    /// A tracer with the exporter its configuration names (the Datadog Agent writer).
    pub fn new(config: Config) -> Tracer {
        let rates = Arc::new(AgentRates::new());
        let exporter = crate::default_exporter(&config, Arc::clone(&rates));
        Tracer::from_parts(config, exporter, rates)
    }

    /// A tracer configured from the environment alone.
    pub fn from_env() -> Tracer {
        Tracer::new(Config::default())
    }

    /// A tracer that sends finished traces to `exporter` (for example a
    /// [`Collector`](crate::Collector) in tests).
    pub fn with_exporter(config: Config, exporter: impl Exporter) -> Tracer {
        Tracer::with_exporter_and_rates(config, exporter, Arc::new(AgentRates::new()))
    }

    /// A tracer that sends finished traces to `exporter` and samples new traces by the agent's
    /// rates in `rates`: give it the [`AgentRates`] an [`AgentWriter`](crate::AgentWriter) you
    /// built updates, as [`Tracer::new`] does. ([`with_exporter`](Tracer::with_exporter) gives
    /// the sampler a table of its own, which no agent response reaches.)
    pub fn with_exporter_and_rates(
        config: Config,
        exporter: impl Exporter,
        rates: Arc<AgentRates>,
    ) -> Tracer {
        Tracer::from_parts(config, Box::new(exporter), rates)
    }

    fn from_parts(config: Config, exporter: Box<dyn Exporter>, rates: Arc<AgentRates>) -> Tracer {
        error::install_panic_hook();
        crate::clock::calibrate();
        let exporter: Box<dyn Exporter> = if config.enabled {
            exporter
        } else {
            Box::new(NoopExporter)
        };
        if config.startup_logs {
            log::log(
                Level::Info,
                format_args!("DATADOG TRACER CONFIGURATION - {}", config.to_json()),
            );
        }
        Tracer {
            inner: Arc::new(TracerInner {
                service: Str::Borrowed(intern(&config.service)),
                finalizer: Arc::new(Finalizer::new(&config)),
                exporter,
                sampler: Sampler::new(&config, rates),
                propagator: Propagator::new(&config),
                env: config.env.as_deref().map_or("", intern),
                version: config.version.as_deref().map_or("", intern),
                config,
                stats: SpanStats::default(),
            }),
        }
    }

    /// The effective configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Starts a span named `name` and makes it active until the guard drops (the reference's
    /// `with tracer.trace(name):`). It is a child of the active span, if any.
    pub fn trace(&self, name: impl Into<Str>) -> SpanGuard {
        if !self.inner.config.enabled {
            return SpanGuard::noop();
        }
        trace_named(Some(self), name.into())
    }

    /// A builder for a span with a service, resource, type, explicit parent, start time, tags or
    /// links.
    pub fn span(&self, name: impl Into<Str>) -> SpanBuilder<'_> {
        SpanBuilder {
            tracer: Some(self),
            options: SpanOptions::new(name.into()),
        }
    }

    /// Runs `f` inside a span named `name` (active during the call), and returns its result.
    pub fn in_span<R>(&self, name: impl Into<Str>, f: impl FnOnce(&SpanGuard) -> R) -> R {
        let guard = self.trace(name);
        f(&guard)
    }

    /// The span active on this thread (see [`current_span`](crate::current_span)).
    pub fn current_span(&self) -> Option<ActiveSpan> {
        crate::current_span()
    }

    /// The local root of the active trace (see [`current_root_span`](crate::current_root_span)).
    pub fn current_root_span(&self) -> Option<RootSpan> {
        crate::current_root_span()
    }

    /// The context of the active span or attached context.
    pub fn current_context(&self) -> Option<SpanContext> {
        context::active_context()
    }

    /// The identifiers that link a log line written now to the active span (the reference's
    /// log injection): `dd.trace_id` and `dd.span_id` of the span active on this thread (`0`
    /// outside a trace, or with tracing disabled), and this tracer's `dd.service`, `dd.env`
    /// and `dd.version`. Put its `Display` (or its [`fields`](LogCorrelation::fields)) in
    /// each log line; see [`LogCorrelation`].
    pub fn log_correlation(&self) -> LogCorrelation {
        let inner = &self.inner;
        let ids = if inner.config.enabled {
            context::active_ids()
        } else {
            None
        };
        LogCorrelation::new(
            ids,
            inner.service.clone(),
            Str::Borrowed(inner.env),
            Str::Borrowed(inner.version),
        )
    }

    /// Reads a trace context from incoming headers (any carrier: `http::HeaderMap`,
    /// `HashMap<String, String>`, ...) in the configured extraction styles
    /// (`DD_TRACE_PROPAGATION_STYLE_EXTRACT`). Start the local root with
    /// [`SpanBuilder::child_of`]. `None` when no style found a valid context; malformed headers
    /// are counted and explained in debug logs, never an error.
    pub fn extract(&self, carrier: &dyn Extractor) -> Option<SpanContext> {
        // The context carries the tags its local root gets (`local_root_tags`) and the links
        // to conflicting contexts; baggage without a trace context is not kept.
        let remote = self.inner.propagator.extract_context(carrier)?;
        Some(SpanContext::remote(remote))
    }

    /// Writes `context` into outgoing headers in the configured injection styles
    /// (`DD_TRACE_PROPAGATION_STYLE_INJECT`). The sampling decision travels with it, fixed from
    /// then on: made when the trace started, or, with sampling rules, now if it was not yet
    /// (from the local root as it is now; see the guide's *Sampling*).
    pub fn inject(&self, context: &SpanContext, carrier: &mut dyn Injector) {
        self.inject_impl(context, None, carrier);
    }

    /// [`inject`](Tracer::inject) with `baggage` in place of the context's own, for APIs that
    /// keep baggage beside the context (OpenTracing does). Everything else is the same: the
    /// upstream `tracestate`, origin, propagation tags and sampling decision travel, and an
    /// `x-datadog-tags` that cannot be sent marks the local root with `_dd.propagation_error`.
    pub fn inject_with_baggage(
        &self,
        context: &SpanContext,
        baggage: &TagMap<String>,
        carrier: &mut dyn Injector,
    ) {
        self.inject_impl(context, Some(baggage), carrier);
    }

    fn inject_impl(
        &self,
        context: &SpanContext,
        baggage: Option<&TagMap<String>>,
        carrier: &mut dyn Injector,
    ) {
        let propagator = &self.inner.propagator;
        match &context.inner {
            CtxInner::Local { trace, span_id, .. } => {
                // The decision leaves the process with these headers: it may not change after
                // (read below, once locked, it is the one sent).
                trace.lock_decision();
                let tags = context.propagation_tags();
                let no_baggage = TagMap::new();
                let ctx = InjectContext {
                    trace_id: trace.trace_id,
                    span_id: *span_id,
                    sampling_priority: Some(trace.priority()),
                    origin: trace.origin.as_deref(),
                    propagation_tags: &tags,
                    tracestate: trace.tracestate.as_deref(),
                    baggage: baggage.or(trace.baggage.as_deref()).unwrap_or(&no_baggage),
                };
                if let Some(error) = propagator.inject(&ctx, carrier).propagation_error {
                    trace.update_root(|r| {
                        r.tag(
                            Str::Borrowed(PROPAGATION_ERROR_KEY),
                            Stored::Meta(Str::Borrowed(error)),
                        )
                    });
                }
            }
            CtxInner::Remote(r) => {
                let ctx = InjectContext {
                    trace_id: r.trace_id,
                    span_id: r.span_id,
                    sampling_priority: r.sampling_priority,
                    origin: r.origin.as_deref(),
                    propagation_tags: &r.propagation_tags,
                    tracestate: r.tracestate.as_deref(),
                    baggage: baggage.unwrap_or(&r.baggage),
                };
                let _ = propagator.inject(&ctx, carrier);
            }
        }
    }

    /// Injects the active span's context (see [`inject`](Tracer::inject)); returns whether
    /// there was one.
    pub fn inject_current(&self, carrier: &mut dyn Injector) -> bool {
        match context::active_context() {
            Some(ctx) => {
                self.inject(&ctx, carrier);
                true
            }
            None => false,
        }
    }

    /// Adds a tag to every span this tracer exports from now on (the reference's global
    /// `tracer.set_tag("version", ...)`). A span's own tag of the same key wins.
    pub fn set_tag(&self, key: impl Into<Str>, value: impl Into<TagValue>) {
        self.inner
            .finalizer
            .set_global_tag(key.into(), value.into());
    }

    /// Delivers every finished trace, waiting at most `timeout`; returns `true` when all the
    /// traces finished before the call and not yet sent were delivered in time, `false` when
    /// the time ran out or one of them was dropped (the agent refused it, sending failed, it
    /// was too large: [`stats`](Self::stats) counts why).
    pub fn flush(&self, timeout: Duration) -> bool {
        self.inner.exporter.flush(timeout)
    }

    /// Delivers every finished trace and stops the exporter, waiting at most `timeout`;
    /// returns `true` as [`flush`](Self::flush) does. Traces finished later are dropped and
    /// counted; a flush or shutdown after this one answers `true` only if this one did and no
    /// trace finished since.
    pub fn shutdown(&self, timeout: Duration) -> bool {
        self.inner.exporter.shutdown(timeout)
    }

    /// What the exporter received, sent, dropped (by reason) and retried.
    pub fn stats(&self) -> crate::ExporterStats {
        self.inner.exporter.stats()
    }

    /// Spans whose trace ended while they were still open (leaked or never finished).
    pub fn unfinished_spans(&self) -> u64 {
        self.inner
            .stats
            .unfinished
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Which parent a new span gets.
pub(crate) enum ParentChoice {
    /// The span active on this thread.
    Active,
    /// None: a new trace.
    Root,
    /// An explicit context.
    Context(SpanContext),
}

/// Everything a span can be started with. The common fields are inline; the rest is boxed so
/// the builder stays small to move on the hot path.
pub(crate) struct SpanOptions {
    pub(crate) name: Str,
    pub(crate) service: Option<Str>,
    pub(crate) parent: ParentChoice,
    pub(crate) extra: Option<Box<SpanExtras>>,
}

/// The less common start options.
#[derive(Default)]
pub(crate) struct SpanExtras {
    pub(crate) resource: Option<Str>,
    pub(crate) span_type: Option<Str>,
    pub(crate) start: Option<SystemTime>,
    pub(crate) tags: Vec<(Str, TagValue)>,
    pub(crate) links: Vec<SpanLink>,
}

impl SpanOptions {
    pub(crate) fn new(name: Str) -> Self {
        SpanOptions {
            name,
            service: None,
            parent: ParentChoice::Active,
            extra: None,
        }
    }

    fn extra(&mut self) -> &mut SpanExtras {
        self.extra.get_or_insert_with(Box::default)
    }
}

/// Builds a span. Made by [`Tracer::span`]; finish with [`start`](SpanBuilder::start) (an owned
/// [`Span`]) or [`enter`](SpanBuilder::enter) (an active [`SpanGuard`]).
#[must_use = "a span builder does nothing until .start() or .enter()"]
pub struct SpanBuilder<'a> {
    /// `None`: the process-wide tracer, resolved only if a new trace is started.
    tracer: Option<&'a Tracer>,
    options: SpanOptions,
}

impl<'a> SpanBuilder<'a> {
    /// A builder whose new traces go to the process-wide tracer, resolved only if a new trace
    /// begins (children join their parent's trace).
    pub(crate) fn global(options: SpanOptions) -> SpanBuilder<'static> {
        SpanBuilder {
            tracer: None,
            options,
        }
    }

    /// The service (default: the parent's, or the tracer's for a root).
    pub fn service(mut self, service: impl Into<Str>) -> Self {
        self.options.service = Some(service.into());
        self
    }

    /// The resource (default: the name).
    pub fn resource(mut self, resource: impl Into<Str>) -> Self {
        self.options.extra().resource = Some(resource.into());
        self
    }

    /// The span type (`web`, `http`, `db`, ...).
    pub fn span_type(mut self, span_type: impl Into<Str>) -> Self {
        self.options.extra().span_type = Some(span_type.into());
        self
    }

    /// An explicit parent instead of the active span (a context from another thread, or
    /// extracted from another process).
    pub fn child_of(mut self, parent: &SpanContext) -> Self {
        self.options.parent = ParentChoice::Context(parent.clone());
        self
    }

    /// Starts a new trace, ignoring the active span.
    pub fn root(mut self) -> Self {
        self.options.parent = ParentChoice::Root;
        self
    }

    /// An explicit start time (default: now).
    pub fn start_time(mut self, start: SystemTime) -> Self {
        self.options.extra().start = Some(start);
        self
    }

    /// A tag set at start.
    pub fn tag(mut self, key: impl Into<Str>, value: impl Into<TagValue>) -> Self {
        self.options.extra().tags.push((key.into(), value.into()));
        self
    }

    /// A link to another span context.
    pub fn link(mut self, link: SpanLink) -> Self {
        self.options.extra().links.push(link);
        self
    }

    /// Starts an owned span, not active until entered.
    pub fn start(self) -> Span {
        Span::new(
            self.open(
                false,
                |open| Some(Box::new(open)),
                NewRoot::<Option<SpanData>>::into_open,
            )
            .flatten(),
        )
    }

    /// Starts the span and makes it active on this thread until the guard drops.
    pub fn enter(self) -> SpanGuard {
        if self.tracer.is_some_and(|t| !t.inner.config.enabled) {
            return SpanGuard::noop();
        }
        let builder = if matches!(self.options.parent, ParentChoice::Active) {
            // The common case: a child of the active span, itself started active.
            match context::start_in_group(self, |b, parent, out| {
                local_child(parent, b.options, out)
            }) {
                Ok(key) => return SpanGuard::new(key),
                Err(not_in_group) => not_in_group.into_inner(),
            }
        } else {
            self
        };
        builder.enter_new()
    }

    /// [`enter`](Self::enter) when the span does not join a group of this thread: a root, or
    /// a child of something other than an active local span.
    fn enter_new(self) -> SpanGuard {
        SpanGuard::new(
            self.open(true, context::push_local, NewRoot::<Vec<SpanData>>::push)
                .unwrap_or(0),
        )
    }

    /// Starts the span, handing it to `child` (a span of a trace of this process) or `root`
    /// (the local root of a new trace); `local` says it will be active on this thread (a
    /// guard). Each caller passes its own sinks, so the new span is moved once.
    fn open<R, P: RootPlace>(
        self,
        local: bool,
        child: impl FnOnce(OpenSpan) -> R,
        root: impl FnOnce(NewRoot<P>) -> R,
    ) -> Option<R> {
        let SpanBuilder { tracer, options } = self;
        if let Some(t) = tracer
            && !t.inner.config.enabled
        {
            // A disabled tracer costs one branch: no clock, no id, no thread-local access.
            return None;
        }
        let parent = match &options.parent {
            ParentChoice::Active => context::active_parent(),
            ParentChoice::Root => None,
            ParentChoice::Context(ctx) => Some(ctx.to_parent()),
        };
        match parent {
            Some(Parent::Local {
                trace,
                span_id,
                service,
            }) => {
                let open = start_child(trace, span_id, service, options)?;
                if !local {
                    // A guard's child is counted by its group instead.
                    open.trace.span_started();
                }
                Some(child(open))
            }
            Some(Parent::Remote(remote)) => {
                with_tracer(tracer, |t| start_root(t, options, Some(&remote))).map(root)
            }
            None => with_tracer(tracer, |t| start_root(t, options, None)).map(root),
        }
    }
}

/// What `trace(name)` does, on the given tracer or else the process-wide one (which a child of
/// an active local span never needs: it joins its parent's trace). Only the name moves into the
/// thread's stack; a span that joins no group is started once, without looking the stack up
/// again, and with nothing active goes straight to a new trace. Inlined into both callers: as
/// a call of its own, a 10-span nested trace took about 500 more instructions (cachegrind).
#[inline(always)]
pub(crate) fn trace_named(tracer: Option<&Tracer>, name: Str) -> SpanGuard {
    match context::start_in_group(name, named_child) {
        Ok(key) => SpanGuard::new(key),
        Err(NotInGroup::Root(name)) => SpanGuard::new(
            with_tracer(tracer, |t| start_root(t, SpanOptions::new(name), None))
                .map_or(0, NewRoot::push),
        ),
        Err(NotInGroup::Other(name)) => SpanBuilder {
            tracer,
            options: SpanOptions::new(name),
        }
        .enter_new(),
    }
}

/// Runs `f` with the given tracer, else the process-wide one; `None` when tracing is disabled.
/// `f` gets its own reference, for the new trace's state: one change to the tracer's reference
/// count per trace, which every thread tracing at once shares (the process-wide tracer's
/// reference, taken from this thread's cache, is moved in rather than cloned again).
fn with_tracer<R>(
    tracer: Option<&Tracer>,
    f: impl FnOnce(Arc<TracerInner>) -> Option<R>,
) -> Option<R> {
    match tracer {
        Some(t) => t.inner.config.enabled.then(|| f(Arc::clone(&t.inner)))?,
        None => {
            let global = global().inner;
            global.config.enabled.then(|| f(global))?
        }
    }
}

/// An owned child of `parent_id` in `trace`. Not counted open in the trace yet: the caller
/// counts it, or hands it to this thread's group of the trace, which counts itself.
fn start_child(
    trace: Arc<TraceState>,
    parent_id: u64,
    parent_service: Str,
    options: SpanOptions,
) -> Option<OpenSpan> {
    let mut slot = None;
    let started = child(&trace, parent_id, parent_service, options, &mut slot);
    Some(OpenSpan {
        data: slot?,
        started,
        trace,
    })
}

/// Where a new span's record is written.
trait Place {
    /// Writes the record `make` returns; returns it.
    fn put(&mut self, make: impl FnOnce() -> SpanData) -> Option<&mut SpanData>;
}

impl Place for Vec<SpanData> {
    fn put(&mut self, make: impl FnOnce() -> SpanData) -> Option<&mut SpanData> {
        // `extend` from `once_with` reserves first, then writes what `make` returns straight
        // into the buffer; `push` would build the 500-byte record on the stack and copy it.
        self.extend(std::iter::once_with(make));
        self.last_mut()
    }
}

impl Place for Option<SpanData> {
    fn put(&mut self, make: impl FnOnce() -> SpanData) -> Option<&mut SpanData> {
        Some(self.insert(make()))
    }
}

/// A child of the active local span, pushed onto its group's buffer `out`; returns its start.
fn local_child(
    parent: context::LocalParent<'_>,
    options: SpanOptions,
    out: &mut Vec<SpanData>,
) -> Instant {
    child(parent.trace, parent.span_id, parent.service, options, out)
}

/// A child named `name` of the active local span, with nothing else to set (what
/// `trace(name)` makes), pushed onto its group's buffer `out`; returns its start.
fn named_child(name: Str, parent: context::LocalParent<'_>, out: &mut Vec<SpanData>) -> Instant {
    let started = Instant::now();
    put_child(
        out,
        parent.trace.trace_id,
        parent.span_id,
        parent.service,
        name,
        started,
    );
    started
}

/// Writes the record of a child of `parent_id` that started at `now` at the end of `out` (in
/// place, see [`Place`]); returns it.
#[inline(always)]
fn put_child(
    out: &mut impl Place,
    trace_id: crate::TraceId,
    parent_id: u64,
    service: Str,
    name: Str,
    now: Instant,
) -> Option<&mut SpanData> {
    out.put(|| {
        span_data(
            trace_id,
            crate::id::span_id(),
            parent_id,
            service,
            crate::clock::wall_ns(now),
            name,
        )
    })
}

/// Builds a child of `parent_id` in `trace` where `out` says (in a group's buffer, written
/// there in place, so a span's data is written once); returns its start.
fn child(
    trace: &Arc<TraceState>,
    parent_id: u64,
    parent_service: Str,
    options: SpanOptions,
    out: &mut impl Place,
) -> Instant {
    let now = Instant::now();
    let top_level = options
        .service
        .as_ref()
        .is_some_and(|s| *s != parent_service);
    let service = options.service.unwrap_or(parent_service);
    let data = put_child(out, trace.trace_id, parent_id, service, options.name, now);
    let mut started = now;
    if let Some(data) = data {
        child_options(data, trace, &mut started, top_level, options.extra, now);
    }
    started
}

/// What a child gets beyond its identity: `_dd.top_level` when its service differs from its
/// parent's, and the less common start options.
fn child_options(
    data: &mut SpanData,
    trace: &Arc<TraceState>,
    started: &mut Instant,
    top_level: bool,
    extra: Option<Box<SpanExtras>>,
    now: Instant,
) {
    if top_level {
        data.metrics.insert(TOP_LEVEL_KEY, 1.0);
    }
    if let Some(extra) = extra {
        apply_extras(&mut SpanMut { data, trace }, started, *extra, now);
    }
}

/// Applies the less common start options.
fn apply_extras(span: &mut SpanMut<'_>, started: &mut Instant, extra: SpanExtras, now: Instant) {
    if let Some(t) = extra.start {
        let (start, at) = explicit_start(t, now);
        span.data.start = start;
        *started = at;
    }
    if let Some(r) = extra.resource {
        span.data.resource = r;
    }
    if let Some(t) = extra.span_type {
        span.data.span_type = t;
    }
    span.data.links.extend(extra.links);
    for (k, v) in extra.tags {
        span.set_tag(k, v);
    }
}

fn start_root<P: RootPlace>(
    tracer: Arc<TracerInner>,
    options: SpanOptions,
    remote: Option<&crate::context::RemoteContext>,
) -> Option<NewRoot<P>> {
    let now = Instant::now();
    let anchor_ns = crate::clock::wall_ns(now);
    let span_id = crate::id::span_id();
    let mut decision = Decision {
        priority: AUTO_KEEP,
        mechanism: Some(MECHANISM_DEFAULT),
        rates: Default::default(),
    };
    let (tracestate, baggage) = match remote {
        Some(r) => (
            r.tracestate.clone(),
            (!r.baggage.is_empty()).then(|| Arc::new(r.baggage.clone())),
        ),
        None => (None, None),
    };
    let (trace_id, parent_id, origin, propagation_tags, links) = match remote {
        Some(r) => {
            if let Some(p) = r.sampling_priority {
                // An upstream decision is honoured, not redone.
                decision.priority = p;
                decision.mechanism = None;
            }
            let tags = crate::trace::propagated_tags(&r.propagation_tags);
            (
                r.trace_id,
                r.span_id,
                r.origin.clone().map(Str::Owned),
                tags,
                r.links.clone(),
            )
        }
        None => (
            crate::id::trace_id(
                tracer.config.trace_id_128,
                (anchor_ns / 1_000_000_000) as u64,
            ),
            0,
            None,
            None,
            Vec::new(),
        ),
    };
    let service = options.service.unwrap_or_else(|| tracer.service.clone());
    // The sampling decision, once per trace, before anything can be injected: unless upstream
    // decided (honoured, not redone) or a start tag asked for a manual keep or drop. With
    // sampling rules it waits until it is needed (`TraceState::settle`): rules match on what
    // is often set after the root starts, such as the resource of a web request once routed.
    // Without rules only the service decides (by the agent's rate): without start options
    // nothing can change it, and it is made now and written with the new state, rather than
    // into it, under its lock, once it exists.
    let upstream_decided = remote.is_some_and(|r| r.sampling_priority.is_some());
    let by_rules = tracer.sampler.has_rules();
    let early = if upstream_decided || by_rules || options.extra.is_some() {
        None
    } else {
        tracer
            .sampler
            .decide_without_rules(trace_id, &service, tracer.env)
    };
    if let Some(quick) = early {
        decision = Decision::from_quick(quick);
    }
    let decided = upstream_decided || early.is_some();
    let trace = TraceState::new(
        tracer,
        TraceSeed {
            trace_id,
            local_root_id: span_id,
            origin,
            propagation_tags,
            tracestate,
            baggage,
            decision,
        },
    );
    let tracer = trace.tracer()?;
    // Built in place: in the buffer that becomes its chunk when it is started active (a
    // guard's root), else in the slot the owned span's box takes it from (leaving the
    // exporter's recycled buffers to the guards).
    let mut spans = P::for_root(&trace);
    let name = options.name;
    let data = spans.put(|| span_data(trace_id, span_id, parent_id, service, anchor_ns, name))?;
    let mut started = now;
    data.links = links;
    if let Some(r) = remote {
        for (k, v) in r.local_root_tags.iter() {
            data.meta
                .insert(Str::Owned(k.to_owned()), Str::Owned(v.clone()));
        }
    }
    if let Some(extra) = options.extra {
        apply_extras(
            &mut SpanMut {
                data: &mut *data,
                trace: &trace,
            },
            &mut started,
            *extra,
            now,
        );
    }
    if by_rules && !decided && trace.mechanism() != Some(MECHANISM_MANUAL) {
        trace.defer_decision(data);
    } else if !decided && trace.mechanism() != Some(MECHANISM_MANUAL) {
        let input = SamplingInput {
            trace_id,
            service: &data.service,
            name: &data.name,
            resource: &data.resource,
            meta: &data.meta,
            metrics: &data.metrics,
            env: tracer.env,
        };
        match tracer.sampler.decide_quietly(&input) {
            Some(quick) => trace.set_quick_decision(quick),
            None => trace.set_decision(&tracer.sampler.decide(&input)),
        }
    }
    Some(NewRoot {
        spans,
        started,
        trace,
    })
}

/// The local root of a new trace, just started, alone in its place: the buffer that becomes its
/// group's when it is started active, else a slot.
struct NewRoot<P> {
    spans: P,
    started: Instant,
    trace: Arc<TraceState>,
}

/// Where a new trace's root is written: the buffer of its group (a guard's root, active on
/// this thread) or a slot the owned span's box takes it from (a manual root, which any thread
/// may finish: a buffer of one would be allocated and freed for nothing).
trait RootPlace: Place {
    /// An empty place for the root of `trace`.
    fn for_root(trace: &TraceState) -> Self;
}

impl RootPlace for Vec<SpanData> {
    fn for_root(trace: &TraceState) -> Self {
        trace.span_buffer(1)
    }
}

impl RootPlace for Option<SpanData> {
    fn for_root(_: &TraceState) -> Self {
        None
    }
}

impl NewRoot<Vec<SpanData>> {
    /// Makes the root active on this thread; returns its key (0 if it could not be).
    fn push(self) -> u64 {
        context::push_root(self.spans, self.started, self.trace)
    }
}

impl NewRoot<Option<SpanData>> {
    /// The root as an owned span's state.
    fn into_open(self) -> Option<Box<OpenSpan>> {
        Some(Box::new(OpenSpan {
            data: self.spans?,
            started: self.started,
            trace: self.trace,
        }))
    }
}

#[inline(always)]
fn span_data(
    trace_id: crate::TraceId,
    span_id: u64,
    parent_id: u64,
    service: Str,
    start: i64,
    name: Str,
) -> SpanData {
    if std::thread::panicking() {
        // Started by code the unwind runs: that panic is not leaving this span's scope.
        crate::error::started_in_unwind(span_id);
    }
    SpanData {
        trace_id,
        span_id,
        parent_id,
        resource: name.clone(),
        name,
        service,
        span_type: Str::Borrowed(""),
        start,
        duration: 0,
        error: false,
        meta: TagMap::default(),
        metrics: TagMap::default(),
        links: Vec::new(),
        events: Vec::new(),
    }
}

/// A start given as wall-clock time: (unix ns, the monotonic instant it corresponds to).
fn explicit_start(t: SystemTime, now: Instant) -> (i64, Instant) {
    let ago = SystemTime::now().duration_since(t).unwrap_or_default();
    (unix_ns(t), now.checked_sub(ago).unwrap_or(now))
}

/// The process-wide tracer, once used or set, and its generation (bumped by every
/// replacement). Each thread keeps the last one it read, with its generation, as a weak
/// reference (`GLOBAL_CACHE`): while the generation has not moved, finding the tracer takes one
/// atomic load and no lock, and a replaced tracer is not kept alive by the threads that used it
/// (it shuts down, delivering what it holds, once its last trace and handle are gone).
struct GlobalSlot {
    tracer: RwLock<Option<Tracer>>,
    generation: AtomicU64,
}

static GLOBAL: GlobalSlot = GlobalSlot {
    tracer: RwLock::new(None),
    generation: AtomicU64::new(0),
};

thread_local! {
    static GLOBAL_CACHE: RefCell<Option<(u64, Weak<TracerInner>)>> = const { RefCell::new(None) };
}

/// The process-wide tracer (the reference's `from ddtrace import tracer`).
///
/// Until [`set_global_tracer`] is called it is built on first use from the environment
/// (`DD_SERVICE`, `DD_TRACE_AGENT_URL`, ...), sending to the Datadog Agent.
pub fn global() -> Tracer {
    let generation = GLOBAL.generation.load(Ordering::Acquire);
    if let Some(tracer) = cached_global(generation) {
        return tracer;
    }
    let current = GLOBAL
        .tracer
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let tracer = match current {
        Some(tracer) => tracer,
        None => build_global(),
    };
    // Tagged with the generation read first: a replacement meanwhile is seen next time.
    let _ = GLOBAL_CACHE.try_with(|cache| {
        if let Ok(mut cache) = cache.try_borrow_mut() {
            *cache = Some((generation, Arc::downgrade(&tracer.inner)));
        }
    });
    tracer
}

/// Builds the process-wide tracer from the environment on first use, unless another thread
/// did meanwhile. Building logs (the startup line, configuration warnings), and a log sink is
/// user code that may itself use the tracer or hold a lock another thread needs: the lines are
/// held back and written once the tracer is in place and no lock of the slot is held.
#[cold]
#[inline(never)] // once per process: kept out of the paths that look the tracer up
fn build_global() -> Tracer {
    static BUILD: Mutex<()> = Mutex::new(());
    let one_builder = BUILD.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(tracer) = GLOBAL
        .tracer
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
    {
        return tracer;
    }
    // (Should building panic, its lines go to standard error, not to the sink: BUILD is
    // still held then.)
    let (built, lines) = log::held_back(Tracer::from_env);
    let (tracer, unused) = {
        let mut slot = GLOBAL.tracer.write().unwrap_or_else(|p| p.into_inner());
        match &*slot {
            // Set meanwhile (`set_global_tracer`): it wins over the one built here.
            Some(set) => (set.clone(), Some(built)),
            None => {
                *slot = Some(built.clone());
                GLOBAL.generation.fetch_add(1, Ordering::AcqRel);
                (built, None)
            }
        }
    };
    drop(one_builder);
    match unused {
        // Dropped holding nothing (its writer's shutdown may take a while). Its startup line
        // is not about the tracer in use; its warnings (about the environment, shown once per
        // process) are.
        Some(unused) => {
            drop(unused);
            log::write_lines(
                lines
                    .into_iter()
                    .filter(|(level, _)| *level >= Level::Warn)
                    .collect(),
            );
        }
        None => log::write_lines(lines),
    }
    tracer
}

/// The process-wide tracer as this thread last read it, if it is still generation
/// `generation`'s.
#[inline]
fn cached_global(generation: u64) -> Option<Tracer> {
    GLOBAL_CACHE
        .try_with(|cache| match &*cache.try_borrow().ok()? {
            Some((g, tracer)) if *g == generation => tracer.upgrade(),
            _ => None,
        })
        .ok()
        .flatten()
        .map(|inner| Tracer { inner })
}

/// The process-wide tracer if it was used or set already, without building it; `None` also
/// while it is being built or replaced (for code that must not wait on that, nor start it: a
/// logger, which the building may itself log through).
pub(crate) fn global_if_set() -> Option<Tracer> {
    if let Some(tracer) = cached_global(GLOBAL.generation.load(Ordering::Acquire)) {
        return Some(tracer);
    }
    match GLOBAL.tracer.try_read() {
        Ok(slot) => slot.clone(),
        Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner().clone(),
        Err(std::sync::TryLockError::WouldBlock) => None,
    }
}

/// Replaces the process-wide tracer; returns the previous one, if it had been used or set.
/// Spans already started keep going to the tracer that started their trace.
pub fn set_global_tracer(tracer: Tracer) -> Option<Tracer> {
    let mut slot = GLOBAL.tracer.write().unwrap_or_else(|p| p.into_inner());
    let previous = slot.replace(tracer);
    GLOBAL.generation.fetch_add(1, Ordering::AcqRel);
    previous
}

/// The local root of the trace active on this thread.
pub(crate) fn active_root() -> Option<RootSpan> {
    context::active_trace().map(RootSpan::new)
}

/// The active span handle.
pub(crate) fn active_span() -> Option<ActiveSpan> {
    context::active_span_key().map(ActiveSpan::new)
}
