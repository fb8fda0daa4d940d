//! The application-thread side of a writer: the bounded hand-off to the background thread, the
//! memory cap, the wake-up signal and the flush / shutdown requests.
//!
//! [`Front::export`] never locks, never blocks and does no I/O: it counts the chunk, reserves its
//! spans against the cap with one atomic add, and `try_send`s it into a bounded crossbeam
//! channel. The background thread does not sleep on that channel (a parked receiver would cost
//! every `try_send` a futex wake-up); it wakes on its flush interval, on flush / shutdown
//! requests, and on a [`Notify`] the application rings only when the buffer crosses its
//! high-water mark, so bursts are drained promptly without a system call per trace.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use tokio::sync::Notify;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use super::stats::{Counters, DropReason};
use crate::exporter::{ExporterStats, TraceChunk};

/// The low bits of [`Shared::state`] count buffered spans; each export in progress adds this.
const EXPORTING_ONE: u64 = 1 << 40;
const SPANS_MASK: u64 = EXPORTING_ONE - 1;
/// How long [`Front::shutdown`] waits past its deadline for the worker's answer.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(250);

/// A request to the background thread.
#[derive(Debug)]
pub(crate) enum Control {
    /// Deliver everything exported before this request, then answer whether it all went out.
    Flush { reply: Sender<bool> },
    /// Deliver everything, stop at `deadline`, answer whether it all went out, and exit.
    Shutdown {
        deadline: Instant,
        reply: Sender<bool>,
    },
}

/// State shared by the application threads and the background thread.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) counters: Arc<Counters>,
    /// Buffered spans (low 40 bits) plus [`EXPORTING_ONE`] per export in progress.
    state: AtomicU64,
    closed: AtomicBool,
    wake_pending: AtomicBool,
    wake: Notify,
    max_spans: u64,
    span_high_water: u64,
}

impl Shared {
    /// The background thread took `spans` spans out of the channel.
    pub(crate) fn taken(&self, spans: u64) {
        if spans > 0 {
            self.state.fetch_sub(spans, Ordering::AcqRel);
        }
    }

    /// Exports between their closed check and their `try_send`.
    pub(crate) fn exports_in_progress(&self) -> u64 {
        self.state.load(Ordering::SeqCst) >> 40
    }

    /// Waits for a wake-up request; clears it so the next crossing rings again.
    pub(crate) async fn woken(&self) {
        self.wake.notified().await;
        self.wake_pending.store(false, Ordering::Release);
    }

    fn request_wake(&self) {
        if !self.wake_pending.load(Ordering::Relaxed)
            && !self.wake_pending.swap(true, Ordering::AcqRel)
        {
            self.wake.notify_one();
        }
    }
}

/// What the background thread receives.
#[derive(Debug)]
pub(crate) struct WorkerIo {
    pub(crate) chunks: Receiver<TraceChunk>,
    pub(crate) control: UnboundedReceiver<Control>,
    pub(crate) shared: Arc<Shared>,
}

impl WorkerIo {
    /// Waits (bounded by `deadline`) until no export is between its closed check and its
    /// `try_send`, so that after [`Front::shutdown`] closed the writer, everything that will
    /// ever enter the channel is in it.
    pub(crate) fn wait_for_exports(&self, deadline: Instant) {
        while self.shared.exports_in_progress() > 0 && Instant::now() < deadline {
            std::thread::yield_now();
        }
    }
}

/// The application side of a writer.
#[derive(Debug)]
pub(crate) struct Front {
    shared: Arc<Shared>,
    chunks: Sender<TraceChunk>,
    control: UnboundedSender<Control>,
    thread: Mutex<Option<JoinHandle<()>>>,
    shutdown_timeout: Duration,
}

impl Front {
    /// Starts the background thread `name` running `worker`.
    pub(crate) fn spawn(
        name: &str,
        max_buffered_spans: usize,
        shutdown_timeout: Duration,
        counters: Arc<Counters>,
        worker: impl FnOnce(WorkerIo) + Send + 'static,
    ) -> std::io::Result<Front> {
        let max_spans = (max_buffered_spans as u64).clamp(1, SPANS_MASK / 2);
        // Bounded by the span cap: every chunk holds at least one span, so at most `max_spans`
        // chunks are ever queued. The list-based channel allocates its slots as they fill (a
        // bounded one would allocate and touch `max_spans` slots up front).
        let (tx, rx) = crossbeam_channel::unbounded();
        let (control_tx, control_rx) = tokio::sync::mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            counters,
            state: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            wake_pending: AtomicBool::new(false),
            wake: Notify::new(),
            max_spans,
            span_high_water: (max_spans / 2).max(1),
        });
        let io = WorkerIo {
            chunks: rx,
            control: control_rx,
            shared: Arc::clone(&shared),
        };
        let handle = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || worker(io))?;
        Ok(Front {
            shared,
            chunks: tx,
            control: control_tx,
            thread: Mutex::new(Some(handle)),
            shutdown_timeout,
        })
    }

    /// Hands a chunk to the background thread, or drops and counts it. Never blocks.
    pub(crate) fn export(&self, chunk: TraceChunk) {
        let spans = chunk.spans.len() as u64;
        if spans == 0 {
            return;
        }
        let s = &*self.shared;
        s.counters.received(spans);
        let before = s.state.fetch_add(spans + EXPORTING_ONE, Ordering::SeqCst) & SPANS_MASK;
        let refused = if s.closed.load(Ordering::SeqCst) {
            Some(DropReason::Shutdown)
        } else if before + spans > s.max_spans {
            Some(DropReason::QueueFull)
        } else {
            match self.chunks.try_send(chunk) {
                Ok(()) => None,
                Err(TrySendError::Full(_)) => Some(DropReason::QueueFull),
                Err(TrySendError::Disconnected(_)) => Some(DropReason::Shutdown),
            }
        };
        match refused {
            None => {
                s.state.fetch_sub(EXPORTING_ONE, Ordering::SeqCst);
                // Ring only when this export crosses the high-water mark: once awake, the worker
                // drains without sleeping while there is work, so ringing again on every export
                // above the mark (or on every drop) would only cost the application a system
                // call per trace when the writer is busiest.
                if before < s.span_high_water && before + spans >= s.span_high_water {
                    s.request_wake();
                }
            }
            Some(reason) => {
                s.state.fetch_sub(spans + EXPORTING_ONE, Ordering::SeqCst);
                s.counters.dropped(reason, 1, spans);
            }
        }
    }

    /// Waits until everything exported before the call is delivered or dropped, at most
    /// `timeout`.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        let (reply, answer) = crossbeam_channel::bounded(1);
        if self.control.send(Control::Flush { reply }).is_err() {
            return self.settled();
        }
        answer.recv_timeout(timeout).unwrap_or(false)
    }

    /// Delivers everything buffered, waiting at most `timeout`, and stops the thread. Later
    /// exports are dropped (`shutdown`).
    pub(crate) fn shutdown(&self, timeout: Duration) -> bool {
        let Ok(mut thread) = self.thread.lock() else {
            return false;
        };
        let Some(handle) = thread.take() else {
            return self.settled();
        };
        self.shared.closed.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + timeout;
        let (reply, answer) = crossbeam_channel::bounded(1);
        if self
            .control
            .send(Control::Shutdown { deadline, reply })
            .is_err()
        {
            let _ = handle.join();
            return self.settled();
        }
        match answer.recv_timeout(timeout + SHUTDOWN_GRACE) {
            Ok(done) => {
                // The worker answered and is exiting: joining is quick.
                let _ = handle.join();
                done
            }
            Err(_) => false, // never hang: leave the thread behind
        }
    }

    pub(crate) fn stats(&self) -> ExporterStats {
        self.shared.counters.snapshot()
    }

    /// Whether every received chunk was sent or dropped.
    fn settled(&self) -> bool {
        let s = self.stats();
        s.traces_received == s.traces_sent + s.traces_dropped.total()
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        let _ = self.shutdown(self.shutdown_timeout);
    }
}
