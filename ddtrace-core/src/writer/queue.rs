//! The application-thread side of a writer: the bounded hand-off to the background thread, the
//! memory cap, the wake-up signal and the flush / shutdown requests.
//!
//! [`Front::export`] never locks, never blocks and does no I/O: it counts the chunk, reserves its
//! spans against the cap with one atomic add, and sends it into an unbounded crossbeam channel
//! (the cap is what bounds it). The background thread does not sleep on that channel (a parked receiver would cost
//! every `try_send` a futex wake-up); it wakes on its flush interval, on flush / shutdown
//! requests, and on a [`Notify`] the application rings only when the buffer crosses its
//! high-water mark, so bursts are drained promptly without a system call per trace.
//!
//! **Overload.** One writer thread cannot always keep up with several application threads that do
//! nothing but make spans (two of them outrun it on two cores). Past the overload mark (a quarter
//! of the span cap), the agent writer has the exporting thread finalize and encode its chunk
//! itself, in v0.4 ([`Queued::Encoded`]): the application pays that CPU instead of losing the
//! trace, the chunk waits as compact bytes (about a third of the memory of its spans) and the
//! writer only copies it into a payload (a v0.4 payload beside the v0.5 one when it sends v0.5),
//! then hands the chunk's buffer back for the exporting threads' next chunks
//! ([`WorkerIo::recycle_bytes`]), as it does span buffers. Encoded bytes have their own cap, the
//! memory the span cap stands for ([`ENCODED_BYTES_PER_CAPPED_SPAN`] per span); past it, chunks are
//! dropped and counted as before. Only while the agent answers: when it fails, encoding ahead would
//! only build a backlog that cannot be sent.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use tokio::sync::Notify;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use super::stats::{Counters, DropReason};
use crate::encode::EncodeOptions;
use crate::exporter::{ExporterStats, TraceChunk};
use crate::span_data::SpanData;

/// The low bits of [`Shared::state`] count buffered spans; each export in progress adds this.
const EXPORTING_ONE: u64 = 1 << 40;
const SPANS_MASK: u64 = EXPORTING_ONE - 1;
/// How long [`Front::shutdown`] waits past its deadline for the worker's answer.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(250);
/// The high-water mark is this fraction of the span cap: crossing it wakes the worker.
const HIGH_WATER_DIVISOR: u64 = 16;
/// The overload mark is this fraction of the span cap: above it (the worker was woken at the
/// high-water mark and still fell behind), exporting threads encode their chunks themselves
/// when the writer allows it, and keep doing so while encoded chunks wait and the spans
/// buffered are above the high-water mark. Spans cost about three times the memory of their
/// encoding, so few wait as spans.
const OVERLOAD_DIVISOR: u64 = 4;
/// The cap on bytes of chunks encoded by application threads, per span of the span cap: about
/// one and a half times the memory the capped spans would take (a span with its inline tags is
/// about 540 bytes), so about four times more spans fit than as spans. 640 lost 5-8 % of a
/// 2M-span burst from two threads flat out in 2 of 3 runs; 800 at most 3 % in 2 of 5, at a
/// peak of 250 MB (README, "End to end").
pub(crate) const ENCODED_BYTES_PER_CAPPED_SPAN: u64 = 800;
/// What the worker hands back to application threads at most, waiting in the channel: about as
/// much span capacity as this many of the largest buffers it hands back (see
/// [`Exporter::reuse_buffer`](crate::Exporter::reuse_buffer)), about 19 MB; smaller buffers go
/// back in greater number (see [`MAX_BUNDLES`]). Also the number of encoded-chunk buffers.
const RECYCLED_BUFFERS: usize = 2048;
const MAX_RECYCLED_CAPACITY: usize = 16;
/// Span buffers go back in bundles of at most this many buffers and about this much capacity
/// (in spans), taken by one application thread at a time (see [`Front::reuse_buffer`]): one
/// channel receive, whose slot the worker's core wrote, serves many traces rather than one. In
/// the span bench, which hands buffers back the same way, bundles took a one-span trace from
/// 490-507 to 428-456 ns; bundles of 16 gained a third of that. The capacity bound keeps what a
/// thread can hold to about 70 KB.
const BUNDLE_BUFFERS: usize = 64;
const BUNDLE_CAPACITY: usize = 128;
/// Bundles waiting in the channel, at most: as much span capacity as [`RECYCLED_BUFFERS`] of the
/// largest buffers. Half as many measured 688-747 against 598-658 ns of tracing a one-span
/// trace end to end (1 thread, 20 µs of work): the writer, woken every 12,500 spans, then
/// hands back too few.
const MAX_BUNDLES: usize = RECYCLED_BUFFERS * MAX_RECYCLED_CAPACITY / BUNDLE_CAPACITY;
/// Bundles taken by application threads and not used up yet, at most, across the process
/// ([`STASHED_BUNDLES`]): a thread that took a bundle and went idle holds it, so without this
/// bound the memory would grow with the number of threads (at most about 5 MB with it).
const MAX_STASHED_BUNDLES: usize = 64;

/// Bundles application threads hold, not used up (see [`MAX_STASHED_BUNDLES`]): one more when a
/// thread takes a bundle, one less when it has used the last buffer or exits.
static STASHED_BUNDLES: AtomicUsize = AtomicUsize::new(0);
/// The largest encoded-chunk buffer the worker hands back (a 16-span chunk with a few tags); at
/// most [`RECYCLED_BUFFERS`] of them wait, 8 MB.
const MAX_RECYCLED_BYTES: usize = 4096;
/// Encoded bytes past which the worker is woken (or a quarter of their cap, if less).
const ENCODED_WAKE_BYTES: u64 = 1024 * 1024;

/// [`Shared::help`]: application threads never encode (the JSON writer, before `/info`, while
/// the agent fails).
const HELP_OFF: u8 = 0;
/// [`Shared::help`]: encode v0.4 with span events in the meta `events` tag.
const HELP_V04: u8 = 1;
/// [`Shared::help`]: encode v0.4 with native span events.
const HELP_V04_NATIVE_EVENTS: u8 = 2;

/// What goes through the hand-off channel.
pub(crate) enum Queued {
    /// A chunk as the tracer exported it (finalized and encoded by the writer).
    Chunk(TraceChunk),
    /// A chunk the exporting thread finalized and encoded in v0.4 under overload.
    Encoded(EncodedChunk),
}

/// One chunk encoded as a v0.4 msgpack array of spans.
#[derive(Debug)]
pub(crate) struct EncodedChunk {
    pub(crate) bytes: Vec<u8>,
    pub(crate) spans: u64,
}

impl Queued {
    /// The spans it holds.
    pub(crate) fn spans(&self) -> u64 {
        match self {
            Queued::Chunk(c) => c.spans.len() as u64,
            Queued::Encoded(e) => e.spans,
        }
    }
}

impl std::fmt::Debug for Queued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Queued::Chunk(c) => f.debug_tuple("Chunk").field(c).finish(),
            Queued::Encoded(e) => f.debug_tuple("Encoded").field(&e.spans).finish(),
        }
    }
}

/// A request to the background thread.
#[derive(Debug)]
pub(crate) enum Control {
    /// Deliver everything exported before this request, then answer whether it all went out
    /// (see `waiters`).
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
    span_overload: u64,
    /// Bytes of [`Queued::Encoded`] chunks in the channel.
    encoded_bytes: AtomicU64,
    /// The cap on `encoded_bytes` (the span cap times [`ENCODED_BYTES_PER_CAPPED_SPAN`]).
    max_encoded_bytes: AtomicU64,
    /// Whether (and how) exporting threads encode under overload: `HELP_*`.
    help: AtomicU8,
}

impl Shared {
    /// The background thread took `spans` spans out of the channel.
    pub(crate) fn taken(&self, spans: u64) {
        if spans > 0 {
            self.state.fetch_sub(spans, Ordering::AcqRel);
        }
    }

    /// The background thread took an encoded chunk of `bytes` bytes out of the channel.
    pub(crate) fn taken_encoded(&self, bytes: u64) {
        self.encoded_bytes.fetch_sub(bytes, Ordering::AcqRel);
    }

    /// Takes `item` out of the accounting of what is buffered; returns its spans if it is a
    /// raw chunk (the caller sums them for one [`taken`](Self::taken)).
    pub(crate) fn took(&self, item: &Queued) -> u64 {
        match item {
            Queued::Chunk(c) => c.spans.len() as u64,
            Queued::Encoded(e) => {
                self.taken_encoded(e.bytes.capacity() as u64);
                0
            }
        }
    }

    /// Lets exporting threads encode in v0.4 with `options` under overload, or stops them
    /// (`None`: the agent does not answer, or the writer does not encode msgpack at all).
    pub(crate) fn set_help(&self, options: Option<EncodeOptions>) {
        let help = match options {
            None => HELP_OFF,
            Some(o) if o.native_span_events => HELP_V04_NATIVE_EVENTS,
            Some(_) => HELP_V04,
        };
        self.help.store(help, Ordering::Relaxed);
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

/// The rest of the last bundle of span buffers a thread took (see [`Front::reuse_buffer`]),
/// counted in `held` ([`STASHED_BUNDLES`]) while not empty.
struct Stash {
    buffers: Vec<Vec<SpanData>>,
    held: &'static AtomicUsize,
}

impl Stash {
    const fn new(held: &'static AtomicUsize) -> Stash {
        Stash {
            buffers: Vec::new(),
            held,
        }
    }

    /// The next buffer; takes the bundle `more` gives when empty.
    fn pop(&mut self, more: impl FnOnce() -> Option<Vec<Vec<SpanData>>>) -> Option<Vec<SpanData>> {
        if self.buffers.is_empty() {
            let mut bundle = more().filter(|b| !b.is_empty())?;
            self.held.fetch_add(1, Ordering::Relaxed);
            // Handed out in the order the worker recycled them.
            bundle.reverse();
            self.buffers = bundle;
        }
        let buffer = self.buffers.pop();
        if self.buffers.is_empty() {
            self.held.fetch_sub(1, Ordering::Relaxed);
        }
        buffer
    }
}

impl Drop for Stash {
    fn drop(&mut self) {
        // The thread exits with buffers left: they are freed with it.
        if !self.buffers.is_empty() {
            self.held.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

thread_local! {
    static STASH: std::cell::RefCell<Stash> =
        const { std::cell::RefCell::new(Stash::new(&STASHED_BUNDLES)) };
}

/// What the background thread receives.
#[derive(Debug)]
pub(crate) struct WorkerIo {
    pub(crate) chunks: Receiver<Queued>,
    /// Span buffers going back to the application threads, in bundles (see
    /// [`WorkerIo::recycle`]).
    recycled: Sender<Vec<Vec<SpanData>>>,
    /// The bundle being filled, and the span capacity of its buffers.
    bundle: Vec<Vec<SpanData>>,
    bundle_capacity: usize,
    /// Bundles application threads hold ([`STASHED_BUNDLES`]).
    stashed: &'static AtomicUsize,
    /// Byte buffers of chunks encoded by application threads, going back to them.
    recycled_bytes: Sender<Vec<u8>>,
    pub(crate) control: UnboundedReceiver<Control>,
    pub(crate) shared: Arc<Shared>,
}

impl WorkerIo {
    /// Hands a chunk's buffer back to the application threads. `app_heap` says whether its
    /// spans held heap memory when they arrived (see [`SpanData::owns_heap`]), which their
    /// application thread allocated: such spans stay in the buffer, and the thread that reuses
    /// it drops them, so that memory is freed by a thread whose allocator cache absorbs it a
    /// few blocks at a time, not by the thousand here, which takes the allocating thread's
    /// arena lock. Spans that held none are dropped here: all they free is what finalizing
    /// allocated on this thread (the chunk root's tags past the inline ones), and the
    /// application thread is spared the work. Buffers that are big, or beyond what is already
    /// waiting, are freed here.
    ///
    /// Buffers wait in a bundle until it is full or [`hand_back`](Self::hand_back) sends it.
    pub(crate) fn recycle(&mut self, mut spans: Vec<SpanData>, app_heap: bool) {
        if Self::recyclable(&spans) && !self.recycled.is_full() {
            if !app_heap {
                spans.clear();
            }
            self.bundle_capacity += spans.capacity();
            self.bundle.push(spans);
            if self.bundle.len() == BUNDLE_BUFFERS || self.bundle_capacity >= BUNDLE_CAPACITY {
                self.hand_back();
            }
        }
    }

    /// Sends the bundle of buffers being filled, if any (the worker calls it when it has taken
    /// what was queued, so buffers do not wait for a bundle to fill).
    /// Past [`MAX_STASHED_BUNDLES`] held by application threads, the bundle is freed here
    /// instead.
    pub(crate) fn hand_back(&mut self) {
        if !self.bundle.is_empty() {
            let bundle = std::mem::replace(&mut self.bundle, Vec::with_capacity(BUNDLE_BUFFERS));
            self.bundle_capacity = 0;
            if self.stashed.load(Ordering::Relaxed) < MAX_STASHED_BUNDLES {
                let _ = self.recycled.try_send(bundle);
            }
        }
    }

    /// Whether [`recycle`](Self::recycle) would hand `spans`' buffer back (it is small enough);
    /// for a bigger one, whose spans are freed here anyway, `app_heap` need not be worked out.
    pub(crate) fn recyclable(spans: &Vec<SpanData>) -> bool {
        spans.capacity() <= MAX_RECYCLED_CAPACITY
    }

    /// Hands the buffer of a chunk an application thread encoded back to those threads, once
    /// its bytes are copied into a payload (freed here if many already wait, or if big).
    pub(crate) fn recycle_bytes(&self, bytes: Vec<u8>) {
        if bytes.capacity() <= MAX_RECYCLED_BYTES {
            let _ = self.recycled_bytes.try_send(bytes);
        }
    }

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
    chunks: Sender<Queued>,
    recycled: Receiver<Vec<Vec<SpanData>>>,
    recycled_bytes: Receiver<Vec<u8>>,
    control: UnboundedSender<Control>,
    thread: Mutex<Option<JoinHandle<()>>>,
    shutdown_timeout: Duration,
    /// Set once the shutdown has been answered: what a later flush or shutdown answers
    /// (see [`Ended`]).
    ended: Mutex<Option<Ended>>,
}

/// How the writer ended: whether its shutdown delivered everything pending, and the traces
/// received when it was asked to stop. A flush or shutdown after it answers `true` only if
/// the shutdown did and no trace came since: every export after the shutdown is dropped.
/// (One that raced the shutdown request and was delivered still makes the answer `false`: a
/// later answer may be too cautious, never too hopeful.)
#[derive(Clone, Copy, Debug)]
struct Ended {
    delivered: bool,
    received: u64,
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
        let (recycle_tx, recycle_rx) = crossbeam_channel::bounded(MAX_BUNDLES);
        let (bytes_tx, bytes_rx) = crossbeam_channel::bounded(RECYCLED_BUFFERS);
        let (control_tx, control_rx) = tokio::sync::mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            counters,
            state: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            wake_pending: AtomicBool::new(false),
            wake: Notify::new(),
            max_spans,
            span_high_water: (max_spans / HIGH_WATER_DIVISOR).max(1),
            span_overload: (max_spans / OVERLOAD_DIVISOR).max(1),
            encoded_bytes: AtomicU64::new(0),
            max_encoded_bytes: AtomicU64::new(
                max_spans.saturating_mul(ENCODED_BYTES_PER_CAPPED_SPAN),
            ),
            help: AtomicU8::new(HELP_OFF),
        });
        let io = WorkerIo {
            chunks: rx,
            recycled: recycle_tx,
            bundle: Vec::with_capacity(BUNDLE_BUFFERS),
            bundle_capacity: 0,
            stashed: &STASHED_BUNDLES,
            recycled_bytes: bytes_tx,
            control: control_rx,
            shared: Arc::clone(&shared),
        };
        let handle = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || worker(io))?;
        Ok(Front {
            shared,
            chunks: tx,
            recycled: recycle_rx,
            recycled_bytes: bytes_rx,
            control: control_tx,
            thread: Mutex::new(Some(handle)),
            shutdown_timeout,
            ended: Mutex::new(None),
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
        let help = s.help.load(Ordering::Relaxed);
        // Overload: above the overload mark, and above the high-water mark while encoded
        // chunks still wait (so the writer, once behind, is left only copying bytes until it
        // has nearly caught up).
        if help != HELP_OFF {
            let buffered = (s.state.load(Ordering::Relaxed) & SPANS_MASK) + spans;
            if buffered > s.span_overload
                || (buffered > s.span_high_water && s.encoded_bytes.load(Ordering::Relaxed) > 0)
            {
                return self.export_encoded(chunk, spans, help);
            }
        }
        let before = s.state.fetch_add(spans + EXPORTING_ONE, Ordering::SeqCst) & SPANS_MASK;
        let refused = if s.closed.load(Ordering::SeqCst) {
            Some(DropReason::Shutdown)
        } else if before + spans > s.max_spans {
            Some(DropReason::QueueFull)
        } else {
            self.send(Queued::Chunk(chunk)).err()
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

    /// Hands `item` to the background thread; why not, if it cannot take it.
    fn send(&self, item: Queued) -> Result<(), DropReason> {
        self.chunks.try_send(item).map_err(|e| match e {
            TrySendError::Full(_) => DropReason::QueueFull,
            TrySendError::Disconnected(_) => DropReason::Shutdown,
        })
    }

    /// Overload: finalizes and encodes the chunk on this thread, then queues its bytes.
    fn export_encoded(&self, chunk: TraceChunk, spans: u64, help: u8) {
        let s = &*self.shared;
        s.state.fetch_add(EXPORTING_ONE, Ordering::SeqCst);
        let cap = s.max_encoded_bytes.load(Ordering::Relaxed);
        let refused = if s.closed.load(Ordering::SeqCst) {
            Some(DropReason::Shutdown)
        } else if s.encoded_bytes.load(Ordering::Relaxed) >= cap {
            // Full already: drop without spending the encoding.
            Some(DropReason::QueueFull)
        } else {
            let options =
                EncodeOptions::new().with_native_span_events(help == HELP_V04_NATIVE_EVENTS);
            let (spans_data, root) = chunk.finalize_in_place();
            // A buffer the writer handed back, unless it is more than twice what this chunk
            // needs: its capacity is what the chunk holds in memory, and counts against the cap.
            let estimate = crate::encode::encoded_chunk_estimate(spans_data.len());
            let bytes = match self.recycled_bytes.try_recv() {
                Ok(mut bytes) if bytes.capacity() <= 2 * estimate => {
                    crate::encode::encode_v04_chunk_into(&mut bytes, options, &spans_data, root);
                    bytes
                }
                _ => crate::encode::encode_v04_chunk(options, &spans_data, root),
            };
            // The spans are freed here, by the thread that allocated them.
            drop(spans_data);
            // What it holds in memory, not just its length.
            let len = bytes.capacity() as u64;
            let before = s.encoded_bytes.fetch_add(len, Ordering::SeqCst);
            if before + len > cap {
                s.encoded_bytes.fetch_sub(len, Ordering::SeqCst);
                Some(DropReason::QueueFull)
            } else {
                match self.send(Queued::Encoded(EncodedChunk { bytes, spans })) {
                    Ok(()) => {
                        s.counters.encoded_on_app(spans);
                        let wake_at = ENCODED_WAKE_BYTES.min(cap / 4);
                        if before < wake_at && before + len >= wake_at {
                            s.request_wake();
                        }
                        None
                    }
                    Err(reason) => {
                        s.encoded_bytes.fetch_sub(len, Ordering::SeqCst);
                        Some(reason)
                    }
                }
            }
        };
        s.state.fetch_sub(EXPORTING_ONE, Ordering::SeqCst);
        if let Some(reason) = refused {
            s.counters.dropped(reason, 1, spans);
        }
    }

    /// A span buffer the worker is done with, if one is waiting (never blocks); the caller
    /// drops the spans still in it.
    ///
    /// Buffers come in bundles: this thread takes a whole bundle and keeps the rest for its
    /// next traces, in a thread-local stash every writer of the process shares (a buffer is
    /// a buffer, whichever writer sent it). A thread holds at most one bundle, freed when the
    /// thread exits; the process's threads hold at most [`MAX_STASHED_BUNDLES`] (the worker
    /// stops handing bundles back past that).
    pub(crate) fn reuse_buffer(&self) -> Option<Vec<SpanData>> {
        STASH
            .try_with(|stash| {
                let mut stash = stash.try_borrow_mut().ok()?;
                stash.pop(|| self.recycled.try_recv().ok())
            })
            .ok()
            .flatten()
    }

    /// Waits until everything exported before the call is delivered or dropped, at most
    /// `timeout`; whether it was all delivered in time (see `waiters`).
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        let (reply, answer) = crossbeam_channel::bounded(1);
        if self.control.send(Control::Flush { reply }).is_err() {
            return self.after_the_end();
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
            return self.after_the_end();
        };
        let received = self.stats().traces_received;
        self.shared.closed.store(true, Ordering::SeqCst);
        let deadline = crate::clock::deadline_after(timeout);
        let (reply, answer) = crossbeam_channel::bounded(1);
        let delivered = if self
            .control
            .send(Control::Shutdown { deadline, reply })
            .is_err()
        {
            // The worker is gone (it only stops when asked, or if it panicked).
            let _ = handle.join();
            self.all_sent()
        } else {
            match answer.recv_timeout(timeout.saturating_add(SHUTDOWN_GRACE)) {
                Ok(done) => {
                    // The worker answered and is exiting: joining is quick.
                    let _ = handle.join();
                    done
                }
                Err(_) => false, // never hang: leave the thread behind
            }
        };
        let ended = Ended {
            delivered,
            received,
        };
        *self.ended.lock().unwrap_or_else(|p| p.into_inner()) = Some(ended);
        delivered
    }

    /// What a flush or shutdown answers once the writer has stopped (see [`Ended`]).
    fn after_the_end(&self) -> bool {
        let ended = *self.ended.lock().unwrap_or_else(|p| p.into_inner());
        match ended {
            Some(e) => e.delivered && self.stats().traces_received == e.received,
            // Stopped without a shutdown (only a panic of the worker could do that).
            None => self.all_sent(),
        }
    }

    pub(crate) fn stats(&self) -> ExporterStats {
        self.shared.counters.snapshot()
    }

    /// Whether every received trace was sent.
    fn all_sent(&self) -> bool {
        let s = self.stats();
        s.traces_received == s.traces_sent
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        let _ = self.shutdown(self.shutdown_timeout);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::exporter::ChunkInfo;
    use crate::finalize::Finalizer;
    use crate::span_data::{SpanData, Str, TraceId};

    fn chunk(trace: u64, spans: u64, finalizer: &Arc<Finalizer>) -> TraceChunk {
        let trace_id = TraceId::from(u128::from(trace));
        // Children first, the root last (the order they finish in).
        let spans = (1..=spans)
            .rev()
            .map(|i| SpanData {
                trace_id,
                span_id: trace * 100 + i,
                parent_id: if i == 1 { 0 } else { trace * 100 + 1 },
                name: format!("op{i}").into(),
                service: "svc".into(),
                resource: "r".into(),
                start: 1,
                duration: 2,
                ..SpanData::default()
            })
            .collect();
        TraceChunk {
            spans,
            info: ChunkInfo::kept(trace_id, trace * 100 + 1),
            finalizer: Arc::clone(finalizer),
        }
    }

    /// What a test worker does last: wait for the shutdown request and answer it.
    fn answer_shutdown(io: &mut WorkerIo) {
        while let Some(msg) = io.control.blocking_recv() {
            if let Control::Shutdown { reply, .. } = msg {
                let _ = reply.try_send(true);
                return;
            }
        }
    }

    /// A writer with a 32-span cap whose thread runs `worker`.
    fn worker_front(worker: impl FnOnce(WorkerIo) + Send + 'static) -> Front {
        Front::spawn(
            "test-writer",
            32,
            Duration::from_secs(1),
            Arc::new(Counters::default()),
            worker,
        )
        .unwrap()
    }

    /// A writer thread that does nothing until released, then hands back what it found.
    fn parked_front(max_spans: usize) -> (Front, Sender<()>, Receiver<Vec<Queued>>) {
        let (go, wait) = crossbeam_channel::bounded::<()>(1);
        let (found_tx, found) = crossbeam_channel::bounded(1);
        let front = Front::spawn(
            "test-writer",
            max_spans,
            Duration::from_secs(1),
            Arc::new(Counters::default()),
            move |mut io| {
                let _ = wait.recv();
                let items: Vec<Queued> = io.chunks.try_iter().collect();
                let spans: u64 = items.iter().map(|item| io.shared.took(item)).sum();
                io.shared.taken(spans);
                let _ = found_tx.send(items);
                answer_shutdown(&mut io);
            },
        )
        .unwrap();
        (front, go, found)
    }

    /// The finalizer of service `svc`, configured from code only.
    fn svc_finalizer() -> Arc<Finalizer> {
        Arc::new(Finalizer::new(
            &Config::builder()
                .service("svc")
                .build_from(&std::collections::HashMap::<&str, &str>::new()),
        ))
    }

    #[test]
    fn past_the_overload_mark_the_exporting_thread_encodes_and_the_books_balance() {
        let finalizer = svc_finalizer();
        // 8 spans: the high-water mark is 1, the overload mark 2.
        let (front, go, found) = parked_front(8);
        // Overload encoding is off until the writer allows it: a raw chunk past the mark.
        front.export(chunk(1, 3, &finalizer));
        front.shared.set_help(Some(EncodeOptions::new()));
        let second = chunk(2, 2, &finalizer);
        let expected = {
            let (spans, root) = second.clone().finalize_in_place();
            crate::encode::encode_v04_chunk(EncodeOptions::new(), &spans, root)
        };
        front.export(second);
        front.export(chunk(3, 1, &finalizer));
        let s = &front.shared;
        assert_eq!(
            s.state.load(Ordering::SeqCst),
            3,
            "only the raw chunk's spans"
        );
        assert!(s.encoded_bytes.load(Ordering::SeqCst) >= expected.len() as u64);
        let stats = front.stats();
        assert_eq!((stats.traces_received, stats.spans_received), (3, 6));
        assert_eq!(stats.spans_encoded_on_app_threads, 3);
        assert_eq!(stats.traces_dropped.total(), 0);

        go.send(()).unwrap();
        let items = found.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(items.len(), 3);
        assert!(matches!(&items[0], Queued::Chunk(c) if c.spans.len() == 3));
        let Queued::Encoded(e) = &items[1] else {
            panic!("{:?}", items[1]);
        };
        assert_eq!(e.spans, 2);
        assert_eq!(e.bytes, expected, "the bytes the writer would have encoded");
        let decoded: Vec<serde_json::Value> = rmp_serde::from_slice(&e.bytes).unwrap();
        assert_eq!(decoded[0]["span_id"], 201, "root first");
        assert_eq!(decoded[0]["meta"]["language"], "rust");
        assert_eq!(decoded[1]["parent_id"], 201);
        assert!(matches!(&items[2], Queued::Encoded(e) if e.spans == 1));
        // Taking them out returns every counter to zero.
        assert_eq!(s.state.load(Ordering::SeqCst), 0);
        assert_eq!(s.encoded_bytes.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn the_buffer_of_an_encoded_chunk_goes_back_to_the_exporting_threads() {
        let finalizer = svc_finalizer();
        let (taken_tx, taken) = crossbeam_channel::unbounded();
        let (go, wait) = crossbeam_channel::unbounded::<Option<Vec<u8>>>();
        // Each of three rounds: hand back the buffer given (and say so), or take what was
        // encoded, hand its buffer back and report where it was and what it held.
        let front = Front::spawn(
            "test-writer",
            8,
            Duration::from_secs(1),
            Arc::new(Counters::default()),
            move |mut io| {
                for _ in 0..3 {
                    match wait.recv() {
                        Ok(Some(buffer)) => {
                            io.recycle_bytes(buffer);
                            let _ = taken_tx.send((0, Vec::new()));
                        }
                        Ok(None) => {
                            let items: Vec<Queued> = io.chunks.try_iter().collect();
                            for item in items {
                                let spans = io.shared.took(&item);
                                io.shared.taken(spans);
                                let Queued::Encoded(e) = item else { continue };
                                let found = (e.bytes.as_ptr() as usize, e.bytes.clone());
                                io.recycle_bytes(e.bytes);
                                let _ = taken_tx.send(found);
                            }
                        }
                        Err(_) => break,
                    }
                }
                answer_shutdown(&mut io);
            },
        )
        .unwrap();
        let encoded_now = |trace| {
            let c = chunk(trace, 3, &finalizer);
            let expected = {
                let (spans, root) = c.clone().finalize_in_place();
                crate::encode::encode_v04_chunk(EncodeOptions::new(), &spans, root)
            };
            // 8-span cap: the overload mark is 2, so a 3-span chunk is encoded here.
            front.export(c);
            go.send(None).unwrap();
            let (address, bytes) = taken.recv_timeout(Duration::from_secs(10)).unwrap();
            assert_eq!(bytes, expected, "trace {trace}");
            address
        };
        front.shared.set_help(Some(EncodeOptions::new()));
        // A buffer much bigger than a 3-span chunk needs is passed over (and freed).
        let big = Vec::with_capacity(MAX_RECYCLED_BYTES);
        let big_address = big.as_ptr() as usize;
        go.send(Some(big)).unwrap();
        taken.recv_timeout(Duration::from_secs(10)).unwrap();
        let first = encoded_now(1);
        assert_ne!(first, big_address, "the big buffer is not used");
        assert_eq!(encoded_now(2), first, "encoded into the buffer handed back");
        assert_eq!(front.stats().spans_encoded_on_app_threads, 6);
        assert_eq!(front.shared.encoded_bytes.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn encoded_chunks_over_their_cap_are_dropped_and_counted() {
        let finalizer = svc_finalizer();
        let (front, go, found) = parked_front(8);
        front
            .shared
            .max_encoded_bytes
            .store(2_000, Ordering::Relaxed);
        front.shared.set_help(Some(EncodeOptions::new()));
        for trace in 1..=40 {
            front.export(chunk(trace, 4, &finalizer));
        }
        let stats = front.stats();
        assert_eq!(stats.traces_received, 40);
        let queued = 40 - stats.traces_dropped.queue_full;
        assert!(
            queued > 0 && stats.traces_dropped.queue_full > 0,
            "{stats:?}"
        );
        assert_eq!(
            stats.spans_dropped.queue_full,
            4 * stats.traces_dropped.queue_full
        );
        assert!(front.shared.encoded_bytes.load(Ordering::SeqCst) <= 2_000);
        // Only what was queued counts as encoded on the application thread.
        assert_eq!(stats.spans_encoded_on_app_threads, 4 * queued);
        go.send(()).unwrap();
        let items = found.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(items.len() as u64, queued);
        assert!(
            items.iter().all(|i| matches!(i, Queued::Encoded(_))),
            "{items:?}"
        );
        assert_eq!(front.shared.encoded_bytes.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn the_worker_hands_small_buffers_back_emptied_of_spans_that_own_nothing() {
        let (done_tx, done) = crossbeam_channel::bounded(1);
        let front = worker_front(move |mut io| {
            let span = |name: Str| SpanData {
                name,
                ..SpanData::default()
            };
            // Spans that held the application's heap memory stay in their buffer...
            let mut owned = Vec::with_capacity(4);
            owned.push(span(Str::Owned("owned".to_owned())));
            io.recycle(owned, true);
            // ... the others are dropped here.
            let mut borrowed = Vec::with_capacity(3);
            borrowed.push(span(Str::Borrowed("borrowed")));
            io.recycle(borrowed, false);
            io.recycle(Vec::with_capacity(MAX_RECYCLED_CAPACITY + 1), false);
            io.hand_back();
            let _ = done_tx.send(());
            answer_shutdown(&mut io);
        });
        done.recv_timeout(Duration::from_secs(10)).unwrap();
        let buffer = front.reuse_buffer().unwrap();
        assert!(buffer.len() == 1 && buffer.capacity() >= 4);
        assert_eq!(buffer[0].name, "owned");
        let buffer = front.reuse_buffer().unwrap();
        assert!(buffer.is_empty() && buffer.capacity() >= 3);
        assert!(front.reuse_buffer().is_none(), "the big one was freed");
    }

    #[test]
    fn a_stash_is_counted_while_it_holds_buffers() {
        static HELD: AtomicUsize = AtomicUsize::new(0);
        let bundle = |n: usize| (0..n).map(Vec::with_capacity).collect::<Vec<_>>();
        let mut stash = Stash::new(&HELD);
        assert!(stash.pop(|| None).is_none());
        assert!(
            stash.pop(|| Some(Vec::new())).is_none(),
            "an empty bundle is no bundle"
        );
        assert_eq!(HELD.load(Ordering::SeqCst), 0);
        // Taken in the order recycled; counted until the last buffer goes.
        assert_eq!(stash.pop(|| Some(bundle(3))).map(|b| b.capacity()), Some(0));
        assert_eq!(HELD.load(Ordering::SeqCst), 1);
        assert_eq!(stash.pop(|| unreachable!()).map(|b| b.capacity()), Some(1));
        assert_eq!(stash.pop(|| unreachable!()).map(|b| b.capacity()), Some(2));
        assert_eq!(HELD.load(Ordering::SeqCst), 0);
        // A one-buffer bundle is used up at once.
        assert!(stash.pop(|| Some(bundle(1))).is_some());
        assert_eq!(HELD.load(Ordering::SeqCst), 0);
        // Dropped with buffers left (the thread exits): no longer counted.
        assert!(stash.pop(|| Some(bundle(2))).is_some());
        assert_eq!(HELD.load(Ordering::SeqCst), 1);
        drop(stash);
        assert_eq!(HELD.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn past_the_bundles_threads_hold_the_worker_frees_buffers_itself() {
        static HELD: AtomicUsize = AtomicUsize::new(MAX_STASHED_BUNDLES);
        let (done_tx, done) = crossbeam_channel::bounded(1);
        let front = worker_front(move |mut io| {
            io.stashed = &HELD;
            io.recycle(Vec::with_capacity(1), false);
            io.hand_back();
            assert_eq!(io.recycled.len(), 0, "freed: threads hold enough already");
            HELD.store(MAX_STASHED_BUNDLES - 1, Ordering::SeqCst);
            io.recycle(Vec::with_capacity(2), false);
            io.hand_back();
            assert_eq!(io.recycled.len(), 1);
            let _ = done_tx.send(());
            answer_shutdown(&mut io);
        });
        done.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(front.reuse_buffer().map(|b| b.capacity()), Some(2));
        assert!(front.reuse_buffer().is_none());
    }

    #[test]
    fn buffers_go_back_in_bundles_bounded_by_count_and_capacity() {
        let (done_tx, done) = crossbeam_channel::bounded(1);
        let (go_tx, go) = crossbeam_channel::bounded::<()>(1);
        let front = worker_front(move |mut io| {
            // One-span buffers: a full bundle of BUNDLE_BUFFERS, then 4 waiting.
            for _ in 0..BUNDLE_BUFFERS + 4 {
                io.recycle(Vec::with_capacity(1), false);
            }
            assert_eq!(io.recycled.len(), 1);
            assert_eq!(io.bundle.len(), 4);
            io.hand_back();
            assert_eq!(io.recycled.len(), 2);
            // Big buffers fill a bundle by capacity first.
            let big = BUNDLE_CAPACITY.div_ceil(MAX_RECYCLED_CAPACITY);
            for _ in 0..big {
                io.recycle(Vec::with_capacity(MAX_RECYCLED_CAPACITY), false);
            }
            assert_eq!((io.recycled.len(), io.bundle.len()), (3, 0));
            io.hand_back();
            assert_eq!(io.recycled.len(), 3, "an empty bundle is not sent");
            let _ = done_tx.send(());
            // Another thread takes a bundle of its own.
            go.recv_timeout(Duration::from_secs(10)).unwrap();
            answer_shutdown(&mut io);
        });
        done.recv_timeout(Duration::from_secs(10)).unwrap();
        // This thread takes the first bundle and is served from it alone.
        for _ in 0..BUNDLE_BUFFERS {
            assert_eq!(front.reuse_buffer().unwrap().capacity(), 1);
        }
        assert_eq!(front.recycled.len(), 2, "one bundle taken");
        std::thread::scope(|s| {
            s.spawn(|| {
                let buffer = front.reuse_buffer().unwrap();
                assert_eq!(buffer.capacity(), 1, "the second bundle");
            });
        });
        for _ in 0..BUNDLE_CAPACITY.div_ceil(MAX_RECYCLED_CAPACITY) {
            assert_eq!(
                front.reuse_buffer().unwrap().capacity(),
                MAX_RECYCLED_CAPACITY,
                "the other thread kept the rest of its bundle"
            );
        }
        assert!(front.reuse_buffer().is_none());
        let _ = go_tx.send(());
    }
}
