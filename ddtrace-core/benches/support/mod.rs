//! The bench's exporter, shared by `benches/span.rs` and `examples/span_loop.rs`: a bounded
//! crossbeam channel drained by a background thread, the shape of the agent writer's hand-over;
//! like the agent writer, the consumer hands the span buffers back
//! (`Exporter::reuse_buffer`) rather than freeing them on its thread.
//!
//! Unlike the agent writer it never reads a span, so it also leaves every old span for the
//! application thread to drop. The writer, which reads each span to encode it, drops those that
//! own no heap memory itself (`WorkerIo::recycle`); a consumer that did so here would read spans
//! only to drop them, pulling into its core cache lines that nothing else made it read, so the
//! application's next write to them would cost more than with the writer. The end-to-end bench
//! (`tests/benches/e2e.rs`) measures the real writer.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::thread;

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use ddtrace_core::{
    AgentRates, Config, ConfigBuilder, DEFAULT_RATE_KEY, Exporter, SpanData, TraceChunk, Tracer,
};
use http::{HeaderMap, HeaderName, HeaderValue};

struct ChannelExporter {
    tx: Sender<TraceChunk>,
    recycled: Receiver<Vec<Vec<SpanData>>>,
}

thread_local! {
    /// The rest of the bundle this thread took last.
    static STASH: RefCell<Vec<Vec<SpanData>>> = const { RefCell::new(Vec::new()) };
}

impl Exporter for ChannelExporter {
    fn export(&self, chunk: TraceChunk) {
        match self.tx.try_send(chunk) {
            Ok(()) | Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {}
        }
    }

    fn reuse_buffer(&self) -> Option<Vec<SpanData>> {
        STASH.with_borrow_mut(|stash| {
            if stash.is_empty() {
                *stash = self.recycled.try_recv().ok()?;
            }
            stash.pop()
        })
    }
}

/// A tracer whose finished traces go to another thread as they would to the agent writer.
#[allow(dead_code)] // not every user of this module takes the default
pub fn tracer() -> Tracer {
    tracer_with_rates(Arc::new(AgentRates::new()))
}

/// [`tracer`], sampling by the agent's rates in `rates`.
#[allow(dead_code)] // not every user of this module samples by the agent's rates
pub fn tracer_with_rates(rates: Arc<AgentRates>) -> Tracer {
    tracer_with(config(), rates)
}

/// [`tracer`] with `config`, sampling by the agent's rates in `rates`.
pub fn tracer_with(config: Config, rates: Arc<AgentRates>) -> Tracer {
    let (tx, rx) = bounded::<TraceChunk>(4096);
    let (recycle, recycled) = bounded::<Vec<Vec<SpanData>>>(2048 / 64);
    // Like the agent writer: the consumer drains on a timer instead of parking on the channel,
    // so a send never has to wake it with a system call, and hands small buffers back.
    thread::spawn(move || {
        let mut bundle = Vec::with_capacity(64);
        let mut capacity = 0;
        loop {
            thread::sleep(std::time::Duration::from_millis(1));
            for chunk in rx.try_iter() {
                let spans = chunk.spans;
                if spans.capacity() <= 16 {
                    capacity += spans.capacity();
                    bundle.push(spans);
                    if bundle.len() == 64 || capacity >= 128 {
                        let full = std::mem::replace(&mut bundle, Vec::with_capacity(64));
                        let _ = recycle.try_send(full);
                        capacity = 0;
                    }
                }
            }
            if !bundle.is_empty() {
                let rest = std::mem::replace(&mut bundle, Vec::with_capacity(64));
                let _ = recycle.try_send(rest);
                capacity = 0;
            }
        }
    });
    Tracer::with_exporter_and_rates(config, ChannelExporter { tx, recycled }, rates)
}

/// The rates an agent answers: its default rate (keep everything), and when `for_service`,
/// the rates it has for services it has seen, the bench's among them (keep everything), as once
/// the service has sent traces for a while.
#[allow(dead_code)] // not every user of this module samples by the agent's rates
pub fn agent_rates(for_service: bool) -> Arc<AgentRates> {
    let mut table = HashMap::from([(DEFAULT_RATE_KEY.to_owned(), 1.0)]);
    if for_service {
        table.insert("service:bench-svc,env:".to_owned(), 1.0);
        table.insert("service:other-svc,env:prod".to_owned(), 0.5);
    }
    let rates = Arc::new(AgentRates::new());
    rates.update(table);
    rates
}

/// [`config`] with a sampling rule (`DD_TRACE_SAMPLING_RULES`) that matches the benches' root
/// spans and keeps them all, up to the default limit of 100 traces a second (the others are
/// dropped by the limiter, as a busy service's are).
#[allow(dead_code)] // not every user of this module samples by rules
pub fn config_with_rules() -> Config {
    built(
        builder().sampling_rules_json(
            r#"[{"service": "bench-*", "name": "http.*", "sample_rate": 1.0}]"#,
        ),
    )
}

/// The benches' configuration: service `bench-svc`, the environment ignored.
pub fn config() -> Config {
    built(builder())
}

/// The benches' configuration builder: service `bench-svc`.
fn builder() -> ConfigBuilder {
    Config::builder().service("bench-svc")
}

/// `builder` built, the environment ignored.
fn built(builder: ConfigBuilder) -> Config {
    builder.build_from(&HashMap::<&str, &str>::new())
}

/// An incoming request's headers, with an upstream Datadog tracer's context (what it sends by
/// default: `datadog` and `tracecontext` styles, a 128-bit trace id, a decision and its maker),
/// among a browser's usual ones.
#[allow(dead_code)] // the span bench does not propagate
pub fn incoming() -> HeaderMap {
    let pairs = [
        ("host", "api.example.com"),
        (
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0",
        ),
        ("accept", "application/json"),
        ("accept-encoding", "gzip, deflate, br"),
        ("accept-language", "en-US,en;q=0.5"),
        ("content-type", "application/json"),
        ("x-datadog-trace-id", "5208512171318403364"),
        ("x-datadog-parent-id", "7250412896148403328"),
        ("x-datadog-sampling-priority", "1"),
        ("x-datadog-tags", "_dd.p.dm=-1,_dd.p.tid=66c0ffee00000000"),
        (
            "traceparent",
            "00-66c0ffee00000000484829ab2dcba124-649e4a2f3bc4d180-01",
        ),
        (
            "tracestate",
            "dd=s:1;p:649e4a2f3bc4d180;t.dm:-1;t.tid:66c0ffee00000000",
        ),
    ];
    pairs
        .into_iter()
        .map(|(k, v)| (HeaderName::from_static(k), HeaderValue::from_static(v)))
        .collect()
}
