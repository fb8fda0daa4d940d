//! Where finished traces go: the [`Exporter`] contract, and the in-memory [`Collector`].
//!
//! When every local span of a trace has finished (or a partial flush triggers), the tracer hands
//! the finished spans to its exporter as one [`TraceChunk`], **on the application thread**. An
//! exporter therefore must not block and must not do I/O in [`Exporter::export`]: the agent
//! writer only `try_send`s the chunk to its background thread, where the chunk is finalized
//! (standard tags added, see [`crate::finalize`]), encoded and sent.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::finalize::{Finalizer, finalize_chunk, finalize_in_place};
use crate::span_data::{SpanData, Str, TagMap, TraceId};

/// Trace-level facts a chunk carries to finalization.
#[derive(Clone, Debug, PartialEq)]
pub struct ChunkInfo {
    /// The trace id.
    pub trace_id: TraceId,
    /// The span id of the local root (the first span of the trace in this process).
    pub local_root_id: u64,
    /// The sampling priority (-1 user reject, 0 auto reject, 1 auto keep, 2 user keep).
    pub priority: i32,
    /// The decision maker (`_dd.p.dm` is `-<mechanism>`), when this process decided.
    pub mechanism: Option<u8>,
    /// The origin (`_dd.origin`), from an upstream service or synthetics.
    pub origin: Option<Str>,
    /// Propagated `_dd.p.*` tags received from upstream, to send on the chunk root.
    pub propagation_tags: Option<Arc<TagMap<Str>>>,
    /// Sampling rates used for the decision: (`_dd.agent_psr`, `_dd.rule_psr`, `_dd.limit_psr`).
    pub rates: SamplingRates,
    /// Whether this chunk is a partial flush of a trace that is still open.
    pub partial: bool,
}

#[cfg(test)]
impl ChunkInfo {
    /// A kept, locally decided, complete chunk of `trace_id` rooted at `local_root_id`.
    pub(crate) fn kept(trace_id: TraceId, local_root_id: u64) -> ChunkInfo {
        ChunkInfo {
            trace_id,
            local_root_id,
            priority: 1,
            mechanism: Some(0),
            origin: None,
            propagation_tags: None,
            rates: SamplingRates::default(),
            partial: false,
        }
    }
}

/// The rates recorded on the local root when the decision was made here.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SamplingRates {
    /// `_dd.agent_psr`: the agent's rate for the service.
    pub agent: Option<f64>,
    /// `_dd.rule_psr`: the matching rule's rate.
    pub rule: Option<f64>,
    /// `_dd.limit_psr`: the rate limiter's effective rate.
    pub limit: Option<f64>,
}

/// Finished spans of one trace, not yet finalized.
#[derive(Clone)]
pub struct TraceChunk {
    /// The spans. Those started active on one thread ([`Tracer::trace`](crate::Tracer::trace))
    /// come in the order they started, the others in the order they finished; the agent
    /// writer sends the chunk root first.
    pub spans: Vec<SpanData>,
    /// The trace-level facts.
    pub info: ChunkInfo,
    pub(crate) finalizer: Arc<Finalizer>,
}

impl TraceChunk {
    /// Adds the standard tags (service-level, trace-level and sampling tags, global tags) exactly
    /// as the agent writer sends them, and returns the spans, chunk root first.
    pub fn finalize(self) -> Vec<SpanData> {
        let finalizer = Arc::clone(&self.finalizer);
        finalize_chunk(self.spans, &self.info, &finalizer)
    }

    /// Finalizes the spans where they are; returns them and the index of the chunk root (the
    /// writer encodes it first without moving anything).
    pub(crate) fn finalize_in_place(self) -> (Vec<SpanData>, usize) {
        let mut spans = self.spans;
        let root = finalize_in_place(&mut spans, &self.info, &self.finalizer);
        (spans, root)
    }
}

impl std::fmt::Debug for TraceChunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceChunk")
            .field("spans", &self.spans)
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// Receives finished trace chunks.
///
/// # Contract
///
/// - [`export`](Exporter::export) runs on the application thread that finished the last span:
///   it must return at once, never block, never do I/O. When it cannot take a chunk it drops it
///   and counts the drop.
/// - [`flush`](Exporter::flush) and [`shutdown`](Exporter::shutdown) may block, up to their
///   timeout; they are never called on the span hot path.
pub trait Exporter: Send + Sync + 'static {
    /// Takes one finished chunk.
    fn export(&self, chunk: TraceChunk);

    /// A span buffer the exporter is done with, for the tracer to fill with the next chunk on
    /// this (application) thread, after dropping the spans still in it; `None` (the default)
    /// makes the tracer allocate one.
    ///
    /// An exporter that frees chunks on another thread can hand their buffers back instead:
    /// with the system allocator, memory freed in bulk by a thread other than the one that
    /// allocated it takes that thread's allocator lock, which the application thread then has
    /// to wake. It may drop the spans that own no heap memory ([`SpanData::owns_heap`]) on its
    /// own thread first, sparing the application that work, as the agent writer does. Must not
    /// block (it runs on the span hot path), nor call into the tracer: it may run while the
    /// tracer holds a trace's lock.
    fn reuse_buffer(&self) -> Option<Vec<SpanData>> {
        None
    }

    /// Delivers everything taken so far, waiting at most `timeout`. Returns whether all of it
    /// that was still pending was delivered in time (`false` if any of it was dropped).
    fn flush(&self, timeout: Duration) -> bool {
        let _ = timeout;
        true
    }

    /// Delivers everything taken so far and stops, waiting at most `timeout`. Chunks exported
    /// after shutdown are dropped and counted. Returns whether all that was pending was delivered
    /// in time (`false` if any of it was dropped).
    fn shutdown(&self, timeout: Duration) -> bool {
        self.flush(timeout)
    }

    /// Counters of what was received, sent, dropped and retried.
    fn stats(&self) -> ExporterStats {
        ExporterStats::default()
    }
}

/// What an exporter received, sent, dropped and retried, since it started.
///
/// Once everything is flushed, `received = sent + dropped.total()` exactly, for traces (chunks)
/// and for spans.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExporterStats {
    /// Chunks handed to the exporter.
    pub traces_received: u64,
    /// Spans handed to the exporter.
    pub spans_received: u64,
    /// Chunks delivered (accepted by the agent, or written).
    pub traces_sent: u64,
    /// Spans delivered.
    pub spans_sent: u64,
    /// Requests (payloads) delivered.
    pub payloads_sent: u64,
    /// Bytes of payloads delivered.
    pub bytes_sent: u64,
    /// Request attempts that were retried.
    pub retries: u64,
    /// Spans that the exporting application thread finalized and encoded itself because the
    /// writer thread was behind (overload; they are sent like the others). Non-zero means the
    /// application is producing spans faster than the writer alone can encode them.
    pub spans_encoded_on_app_threads: u64,
    /// Chunks dropped, by reason.
    pub traces_dropped: DropCounts,
    /// Spans dropped, by reason.
    pub spans_dropped: DropCounts,
}

/// Drop counters by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DropCounts {
    /// The buffer towards the background writer was full (the application never waits).
    pub queue_full: u64,
    /// A single chunk larger than the largest payload the agent accepts.
    pub too_large: u64,
    /// The agent refused the payload (400; 413 for a payload of one trace, a larger one is
    /// split and sent again): retrying would not help.
    pub rejected: u64,
    /// Sending failed after every retry (agent down, timeouts, 5xx).
    pub send_failed: u64,
    /// Exported after shutdown, or still buffered when the shutdown timeout expired.
    pub shutdown: u64,
}

impl DropCounts {
    /// The sum over every reason.
    pub fn total(&self) -> u64 {
        self.queue_full + self.too_large + self.rejected + self.send_failed + self.shutdown
    }
}

/// An exporter that discards everything (a disabled tracer, or no destination yet).
#[derive(Debug, Default)]
pub struct NoopExporter;

impl Exporter for NoopExporter {
    fn export(&self, _chunk: TraceChunk) {}
}

/// An in-memory exporter for tests: it finalizes every chunk exactly as the agent writer does and
/// keeps it, so a test can assert on the exact spans, tags and ids a service produced.
///
/// # Examples
///
/// ```
/// use ddtrace_core::{Collector, Config, Tracer};
///
/// let collector = Collector::new();
/// let tracer = Tracer::with_exporter(Config::builder().service("svc").build(), collector.clone());
/// {
///     let _span = tracer.trace("sandwich.make");
/// }
/// let spans = collector.spans();
/// assert_eq!(spans.len(), 1);
/// assert_eq!(spans[0].name, "sandwich.make");
/// assert_eq!(spans[0].service, "svc");
/// ```
#[derive(Clone, Default)]
pub struct Collector {
    shared: Arc<CollectorShared>,
}

#[derive(Default)]
struct CollectorShared {
    chunks: Mutex<Vec<Vec<SpanData>>>,
    changed: Condvar,
}

impl Collector {
    /// An empty collector.
    pub fn new() -> Self {
        Collector::default()
    }

    /// Every finalized chunk received so far, in arrival order.
    pub fn chunks(&self) -> Vec<Vec<SpanData>> {
        self.shared
            .chunks
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default()
    }

    /// Every span received so far, chunk after chunk.
    pub fn spans(&self) -> Vec<SpanData> {
        self.chunks().into_iter().flatten().collect()
    }

    /// The first received span named `name`.
    pub fn span(&self, name: &str) -> Option<SpanData> {
        self.spans().into_iter().find(|s| s.name == name)
    }

    /// Forgets everything received.
    pub fn clear(&self) {
        if let Ok(mut c) = self.shared.chunks.lock() {
            c.clear();
        }
    }

    /// Waits until at least `n` spans have arrived or `timeout` passes; returns the spans.
    pub fn wait_for_spans(&self, n: usize, timeout: Duration) -> Vec<SpanData> {
        let deadline = crate::clock::deadline_after(timeout);
        let Ok(mut chunks) = self.shared.chunks.lock() else {
            return Vec::new();
        };
        loop {
            let count: usize = chunks.iter().map(Vec::len).sum();
            let now = Instant::now();
            if count >= n || now >= deadline {
                return chunks.iter().flatten().cloned().collect();
            }
            match self.shared.changed.wait_timeout(chunks, deadline - now) {
                Ok((guard, _)) => chunks = guard,
                Err(_) => return Vec::new(),
            }
        }
    }
}

impl std::fmt::Debug for Collector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.shared.chunks.lock().map(|c| c.len()).unwrap_or(0);
        f.debug_struct("Collector").field("chunks", &n).finish()
    }
}

impl Exporter for Collector {
    fn export(&self, chunk: TraceChunk) {
        let spans = chunk.finalize();
        if let Ok(mut c) = self.shared.chunks.lock() {
            c.push(spans);
        }
        self.shared.changed.notify_all();
    }
}
