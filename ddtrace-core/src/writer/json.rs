//! The JSON-lines writer, for environments without an agent (`DD_TRACE_OUTPUT=stdout` or
//! `file:/path`): the same hand-off as the agent writer (the application never blocks), and a
//! background thread that writes one line per trace chunk with [`crate::encode::json`].

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::queue::{Control, Queued, WorkerIo};
use super::stats::{DropReason, DropReporter};
use super::waiters::Waiters;
use crate::config::TraceOutput;
use crate::log::{self, Level, warn_once};

/// Buffered output is written once it reaches this size, else on the flush interval.
const WRITE_AT_BYTES: usize = 256 * 1024;
/// Chunks drained between two looks at the control channel.
const DRAIN_BUDGET: usize = 1024;

/// Runs the JSON-lines worker until shutdown.
pub(crate) fn run(mut io: WorkerIo, output: TraceOutput, interval: Duration) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            warn_once(
                "writer:runtime",
                format_args!("the trace writer could not start its runtime ({e})"),
            );
            return;
        }
    };
    let mut sink = Sink::open(&output);
    runtime.block_on(async move {
        let shared = Arc::clone(&io.shared);
        let mut reporter = DropReporter::new(Duration::from_secs(60));
        // Chunks are written in the order they are taken, so the oldest pending one is the
        // next to be resolved: `sink.resolved`.
        let mut waiters = Waiters::default();
        let mut taken: u64 = 0;
        let mut shutdown: Option<Instant> = None;
        let mut next_flush = Instant::now() + interval;
        loop {
            let mut spans_taken = 0;
            let mut n = 0;
            while n < DRAIN_BUDGET {
                let Ok(item) = io.chunks.try_recv() else {
                    break;
                };
                n += 1;
                taken += 1;
                spans_taken += io.shared.took(&item);
                match item {
                    Queued::Chunk(chunk) => sink.push(chunk.finalize()),
                    // Never sent to this writer (it does not enable overload encoding).
                    Queued::Encoded(e) => {
                        // What is buffered resolves first: resolution stays in order.
                        sink.write(&io, &mut waiters);
                        waiters.dropped(sink.resolved);
                        sink.resolved += 1;
                        io.shared.counters.dropped(DropReason::Rejected, 1, e.spans);
                    }
                }
                if sink.buffered_bytes() >= WRITE_AT_BYTES {
                    sink.write(&io, &mut waiters);
                }
            }
            io.shared.taken(spans_taken);
            let more = n == DRAIN_BUDGET;
            let now = Instant::now();
            if now >= next_flush || (!more && (waiters.any_flush() || shutdown.is_some())) {
                sink.write(&io, &mut waiters);
                if now >= next_flush {
                    next_flush = now + interval;
                    if let Some(line) = reporter.due(&io.shared.counters.snapshot(), false) {
                        log::log(Level::Warn, format_args!("{line}"));
                    }
                }
            }
            waiters.answer(sink.resolved);
            if let Some(deadline) = &shutdown
                && ((io.chunks.is_empty() && !more) || now >= *deadline)
            {
                let mut left = 0;
                sink.discard(&io, &mut waiters);
                for item in io.chunks.try_iter() {
                    left += io.shared.took(&item);
                    waiters.dropped(sink.resolved);
                    sink.resolved += 1;
                    io.shared
                        .counters
                        .dropped(DropReason::Shutdown, 1, item.spans());
                }
                io.shared.taken(left);
                waiters.finish(sink.resolved);
                if let Some(line) = reporter.due(&io.shared.counters.snapshot(), true) {
                    log::log(Level::Warn, format_args!("{line}"));
                }
                return;
            }
            let shutdown_at = shutdown;
            tokio::select! {
                biased;
                msg = io.control.recv() => match msg {
                    Some(Control::Flush { reply }) => {
                        waiters.flush(taken + io.chunks.len() as u64, reply);
                    }
                    Some(Control::Shutdown { deadline, reply }) => {
                        io.wait_for_exports(deadline);
                        waiters.shutdown(taken + io.chunks.len() as u64, reply);
                        shutdown = Some(deadline);
                    }
                    None => {
                        if shutdown.is_none() {
                            shutdown = Some(Instant::now() + Duration::from_secs(1));
                        }
                    }
                },
                () = shared.woken() => {}
                () = tokio::time::sleep_until(next_flush.into()) => {}
                () = async {
                    match shutdown_at {
                        Some(d) => tokio::time::sleep_until(d.into()).await,
                        None => std::future::pending().await,
                    }
                } => {}
                () = std::future::ready(()), if more => {}
            }
        }
    });
}

/// Where the lines go, and what is buffered for it.
struct Sink {
    out: Option<Box<dyn Write>>,
    buffer: String,
    traces: u64,
    spans: u64,
    /// Chunks written or dropped.
    resolved: u64,
}

impl Sink {
    fn open(output: &TraceOutput) -> Sink {
        let out: Option<Box<dyn Write>> = match output {
            TraceOutput::File(path) => match std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                Ok(file) => Some(Box::new(file)),
                Err(e) => {
                    warn_once(
                        "writer:json_open",
                        format_args!(
                            "cannot open {} for traces ({e}); traces are dropped",
                            path.display()
                        ),
                    );
                    None
                }
            },
            _ => Some(Box::new(std::io::stdout())),
        };
        Sink {
            out,
            buffer: String::new(),
            traces: 0,
            spans: 0,
            resolved: 0,
        }
    }

    fn push(&mut self, spans: Vec<crate::SpanData>) {
        crate::encode::json::write_chunk_json(&mut self.buffer, &spans);
        self.buffer.push('\n');
        self.traces += 1;
        self.spans += spans.len() as u64;
    }

    fn buffered_bytes(&self) -> usize {
        self.buffer.len()
    }

    /// Writes what is buffered; counts it sent, or dropped (`send_failed`) on an I/O error.
    fn write(&mut self, io: &WorkerIo, waiters: &mut Waiters) {
        if self.traces == 0 {
            return;
        }
        let result = match self.out.as_mut() {
            Some(out) => out
                .write_all(self.buffer.as_bytes())
                .and_then(|()| out.flush()),
            None => Err(std::io::Error::other("no output")),
        };
        match result {
            Ok(()) => io
                .shared
                .counters
                .sent(self.traces, self.spans, self.buffer.len() as u64),
            Err(e) => {
                warn_once(
                    "writer:json_write",
                    format_args!("writing traces failed ({e}); they were dropped"),
                );
                io.shared
                    .counters
                    .dropped(DropReason::SendFailed, self.traces, self.spans);
                waiters.dropped(self.resolved);
            }
        }
        self.resolved += self.traces;
        self.clear();
    }

    fn discard(&mut self, io: &WorkerIo, waiters: &mut Waiters) {
        if self.traces > 0 {
            io.shared
                .counters
                .dropped(DropReason::Shutdown, self.traces, self.spans);
            waiters.dropped(self.resolved);
            self.resolved += self.traces;
        }
        self.clear();
    }

    fn clear(&mut self) {
        self.buffer.clear();
        self.traces = 0;
        self.spans = 0;
        if self.buffer.capacity() > 4 * WRITE_AT_BYTES {
            self.buffer.shrink_to(WRITE_AT_BYTES);
        }
    }
}
