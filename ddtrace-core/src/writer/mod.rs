//! Writers: where the tracer's finished traces go off the application thread.
//!
//! - [`AgentWriter`] sends them to the Datadog Agent (HTTP or a Unix socket) as msgpack, v0.4 by
//!   default or v0.5 when configured and the agent lists it.
//! - [`JsonLinesWriter`] writes one JSON line per trace chunk to standard output or a file
//!   (`DD_TRACE_OUTPUT`), for environments without an agent.
//!
//! Both share one design (the opentelemetry batch processor's, split by concept):
//!
//! | file | what |
//! |---|---|
//! | `queue.rs` | the application side: atomic span cap, bounded channel, wake-ups, flush / shutdown requests |
//! | `worker.rs` | the agent writer's background thread (`dd-trace-writer`) |
//! | `batch.rs` | chunks into payloads under the size limit |
//! | `transport.rs` | reqwest client, headers, status classes, retries, `rate_by_service` |
//! | `retry.rs` | exponential backoff with jitter |
//! | `info.rs` | `GET /info` and what it changes |
//! | `stats.rs` | counters behind [`Exporter::stats`] and the drop summary |
//! | `waiters.rs` | `flush` / `shutdown` callers: answered when their own chunks are resolved, `false` if one was dropped |
//! | `json.rs` | the JSON-lines background thread |
//!
//! [`Exporter::export`] on the application thread takes no lock, does no I/O and never blocks:
//! when the buffer is full the chunk is dropped and counted (`queue_full`). The background thread
//! owns its own current-thread tokio runtime, so a writer can be created and dropped inside or
//! outside any runtime.

mod batch;
mod container;
mod info;
mod json;
mod queue;
mod retry;
mod stats;
mod transport;
mod waiters;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, TraceOutput};
use crate::exporter::{Exporter, ExporterStats, TraceChunk};
use crate::rates::AgentRates;

use queue::Front;
use stats::Counters;

/// The name of the writer's background thread.
pub const WRITER_THREAD_NAME: &str = "dd-trace-writer";

/// Sends finished traces to the Datadog Agent from a background thread.
///
/// Built by [`Tracer::new`](crate::Tracer::new) when the output is the agent; build one yourself
/// to share it or to read its [`stats`](Exporter::stats), and hand the tracer the same rates
/// ([`Tracer::with_exporter_and_rates`](crate::Tracer::with_exporter_and_rates)) so that its
/// sampler follows the agent's answers.
///
/// # Examples
///
/// ```no_run
/// use std::sync::Arc;
/// use std::time::Duration;
/// use ddtrace_core::{AgentRates, AgentWriter, Config, Exporter, Tracer};
///
/// let config = Config::builder().agent_url("http://localhost:8126").build();
/// let rates = Arc::new(AgentRates::new());
/// let writer = AgentWriter::new(&config, Arc::clone(&rates)).expect("a thread");
/// let tracer = Tracer::with_exporter_and_rates(config, writer, rates);
/// drop(tracer.trace("op"));
/// tracer.shutdown(Duration::from_secs(5));
/// let stats = tracer.stats();
/// assert_eq!(stats.traces_received, stats.traces_sent + stats.traces_dropped.total());
/// ```
#[derive(Debug)]
pub struct AgentWriter {
    front: Front,
}

impl AgentWriter {
    /// Starts the writer's thread for `config.agent()`; agent responses update `rates`.
    ///
    /// # Errors
    ///
    /// When the thread cannot be spawned, or the HTTP client cannot be built.
    pub fn new(config: &Config, rates: Arc<AgentRates>) -> std::io::Result<AgentWriter> {
        let counters = Arc::new(Counters::default());
        let transport =
            transport::Transport::new(config, Arc::clone(&counters), retry::Backoff::default())
                .map_err(std::io::Error::other)?;
        let settings = worker::Settings {
            wanted: config.api_version(),
            max_payload: config.max_payload_bytes(),
            interval: config.flush_interval(),
            shutdown_timeout: config.shutdown_timeout(),
        };
        let front = Front::spawn(
            WRITER_THREAD_NAME,
            config.max_buffered_spans(),
            config.shutdown_timeout(),
            counters,
            move |io| worker::run(io, transport, rates, settings),
        )?;
        Ok(AgentWriter { front })
    }
}

impl Exporter for AgentWriter {
    fn export(&self, chunk: TraceChunk) {
        self.front.export(chunk);
    }

    fn reuse_buffer(&self) -> Option<Vec<crate::SpanData>> {
        self.front.reuse_buffer()
    }

    fn flush(&self, timeout: Duration) -> bool {
        self.front.flush(timeout)
    }

    fn shutdown(&self, timeout: Duration) -> bool {
        self.front.shutdown(timeout)
    }

    fn stats(&self) -> ExporterStats {
        self.front.stats()
    }
}

/// Writes finished traces as JSON lines (one per trace chunk, see
/// [`encode::json`](crate::encode::json)) to standard output or a file, from a background thread.
#[derive(Debug)]
pub struct JsonLinesWriter {
    front: Front,
}

impl JsonLinesWriter {
    /// Starts the writer's thread for `output` (`TraceOutput::Agent` means standard output here).
    ///
    /// # Errors
    ///
    /// When the thread cannot be spawned. A file that cannot be opened is reported (once) and
    /// its traces are counted as dropped.
    pub fn new(config: &Config, output: TraceOutput) -> std::io::Result<JsonLinesWriter> {
        let interval = config.flush_interval();
        let front = Front::spawn(
            WRITER_THREAD_NAME,
            config.max_buffered_spans(),
            config.shutdown_timeout(),
            Arc::new(Counters::default()),
            move |io| json::run(io, output, interval),
        )?;
        Ok(JsonLinesWriter { front })
    }
}

impl Exporter for JsonLinesWriter {
    fn export(&self, chunk: TraceChunk) {
        self.front.export(chunk);
    }

    fn flush(&self, timeout: Duration) -> bool {
        self.front.flush(timeout)
    }

    fn shutdown(&self, timeout: Duration) -> bool {
        self.front.shutdown(timeout)
    }

    fn stats(&self) -> ExporterStats {
        self.front.stats()
    }
}

/// The writer `config` asks for; `None` when its thread cannot start (reported once).
pub(crate) fn writer_for(config: &Config, rates: Arc<AgentRates>) -> Option<Box<dyn Exporter>> {
    let result: std::io::Result<Box<dyn Exporter>> = match config.output() {
        TraceOutput::Agent => {
            AgentWriter::new(config, rates).map(|w| Box::new(w) as Box<dyn Exporter>)
        }
        other => {
            JsonLinesWriter::new(config, other.clone()).map(|w| Box::new(w) as Box<dyn Exporter>)
        }
    };
    match result {
        Ok(writer) => Some(writer),
        Err(e) => {
            crate::log::warn_once(
                "writer:start",
                format_args!("the trace writer could not start ({e}); traces are not sent"),
            );
            None
        }
    }
}
