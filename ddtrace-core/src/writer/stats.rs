//! The writer's counters: atomics updated by the application threads (received, dropped on the
//! way in) and by the background thread (sent, dropped later, retries), read as
//! [`ExporterStats`].

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::exporter::{DropCounts, ExporterStats};

/// Why a chunk was dropped (one [`DropCounts`] field each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DropReason {
    QueueFull,
    TooLarge,
    Rejected,
    SendFailed,
    Shutdown,
}

impl DropReason {
    const ALL: [DropReason; 5] = [
        DropReason::QueueFull,
        DropReason::TooLarge,
        DropReason::Rejected,
        DropReason::SendFailed,
        DropReason::Shutdown,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// Cells of the received counts: each exporting thread adds to one of its own (threads are
/// spread over them in turn), so threads exporting at once do not pass one cache line back and
/// forth on every trace; reading sums them.
const RECEIVED_CELLS: usize = 16;

/// One cell of the received counts, alone on its cache lines (128 bytes: adjacent-line
/// prefetching pairs 64-byte lines on x86).
#[derive(Debug, Default)]
#[repr(align(128))]
struct ReceivedCell {
    traces: AtomicU64,
    spans: AtomicU64,
}

/// Hands each thread its received cell, in turn.
static NEXT_CELL: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's received cell (`usize::MAX` until its first export).
    static CELL: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// This thread's received cell.
fn received_cell() -> usize {
    CELL.try_with(|cell| {
        if cell.get() == usize::MAX {
            cell.set(NEXT_CELL.fetch_add(1, Ordering::Relaxed) % RECEIVED_CELLS);
        }
        cell.get()
    })
    .unwrap_or(0)
}

/// Live counters, shared by the writer front and its background thread.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    received: [ReceivedCell; RECEIVED_CELLS],
    traces_sent: AtomicU64,
    spans_sent: AtomicU64,
    payloads_sent: AtomicU64,
    bytes_sent: AtomicU64,
    retries: AtomicU64,
    encoded_on_app: AtomicU64,
    traces_dropped: [AtomicU64; 5],
    spans_dropped: [AtomicU64; 5],
}

impl Counters {
    pub(crate) fn received(&self, spans: u64) {
        let cell = &self.received[received_cell()];
        cell.traces.fetch_add(1, Ordering::Relaxed);
        cell.spans.fetch_add(spans, Ordering::Relaxed);
    }

    pub(crate) fn sent(&self, traces: u64, spans: u64, bytes: u64) {
        self.traces_sent.fetch_add(traces, Ordering::Relaxed);
        self.spans_sent.fetch_add(spans, Ordering::Relaxed);
        self.payloads_sent.fetch_add(1, Ordering::Relaxed);
        self.bytes_sent.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn retried(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn encoded_on_app(&self, spans: u64) {
        self.encoded_on_app.fetch_add(spans, Ordering::Relaxed);
    }

    pub(crate) fn dropped(&self, reason: DropReason, traces: u64, spans: u64) {
        self.traces_dropped[reason.index()].fetch_add(traces, Ordering::Relaxed);
        self.spans_dropped[reason.index()].fetch_add(spans, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> ExporterStats {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let received =
            |f: fn(&ReceivedCell) -> &AtomicU64| self.received.iter().map(|c| load(f(c))).sum();
        ExporterStats {
            traces_received: received(|c| &c.traces),
            spans_received: received(|c| &c.spans),
            traces_sent: load(&self.traces_sent),
            spans_sent: load(&self.spans_sent),
            payloads_sent: load(&self.payloads_sent),
            bytes_sent: load(&self.bytes_sent),
            retries: load(&self.retries),
            spans_encoded_on_app_threads: load(&self.encoded_on_app),
            traces_dropped: drop_counts(&self.traces_dropped),
            spans_dropped: drop_counts(&self.spans_dropped),
        }
    }
}

fn drop_counts(counters: &[AtomicU64; 5]) -> DropCounts {
    let mut out = DropCounts::default();
    for reason in DropReason::ALL {
        let n = counters[reason.index()].load(Ordering::Relaxed);
        *field(&mut out, reason) = n;
    }
    out
}

fn field(counts: &mut DropCounts, reason: DropReason) -> &mut u64 {
    match reason {
        DropReason::QueueFull => &mut counts.queue_full,
        DropReason::TooLarge => &mut counts.too_large,
        DropReason::Rejected => &mut counts.rejected,
        DropReason::SendFailed => &mut counts.send_failed,
        DropReason::Shutdown => &mut counts.shutdown,
    }
}

/// Summarises drops since the previous report, at most once per `every` (a minute).
#[derive(Debug)]
pub(crate) struct DropReporter {
    reported: DropCounts,
    last: Option<std::time::Instant>,
    every: std::time::Duration,
}

impl DropReporter {
    pub(crate) fn new(every: std::time::Duration) -> Self {
        DropReporter {
            reported: DropCounts::default(),
            last: None,
            every,
        }
    }

    /// The warning to log now, if traces were dropped since the last one and it is time
    /// (`force` at shutdown).
    pub(crate) fn due(&mut self, stats: &ExporterStats, force: bool) -> Option<String> {
        let now = std::time::Instant::now();
        if !force
            && self
                .last
                .is_some_and(|t| now.duration_since(t) < self.every)
        {
            return None;
        }
        let d = stats.traces_dropped;
        let r = self.reported;
        if d.total() == r.total() {
            return None;
        }
        self.reported = d;
        self.last = Some(now);
        Some(format!(
            "dropped {} trace(s) since the last report: queue_full={} too_large={} rejected={} \
             send_failed={} shutdown={} (totals: received {}, sent {}, dropped {})",
            d.total() - r.total(),
            d.queue_full - r.queue_full,
            d.too_large - r.too_large,
            d.rejected - r.rejected,
            d.send_failed - r.send_failed,
            d.shutdown - r.shutdown,
            stats.traces_received,
            stats.traces_sent,
            d.total(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn counters_map_to_stats() {
        let c = Counters::default();
        c.received(3);
        c.received(2);
        c.sent(1, 3, 100);
        c.dropped(DropReason::Rejected, 1, 2);
        c.retried();
        let s = c.snapshot();
        assert_eq!((s.traces_received, s.spans_received), (2, 5));
        assert_eq!(
            (s.traces_sent, s.spans_sent, s.payloads_sent, s.bytes_sent),
            (1, 3, 1, 100)
        );
        assert_eq!(s.traces_dropped.rejected, 1);
        assert_eq!(s.spans_dropped.rejected, 2);
        assert_eq!(s.spans_dropped.total(), 2);
        assert_eq!(s.retries, 1);
    }

    #[test]
    fn received_counts_from_many_threads_add_up() {
        let c = Counters::default();
        // More threads than cells: some share one.
        std::thread::scope(|s| {
            for t in 0..RECEIVED_CELLS as u64 + 4 {
                let c = &c;
                s.spawn(move || {
                    for _ in 0..100 {
                        c.received(t + 1);
                    }
                });
            }
        });
        let threads = RECEIVED_CELLS as u64 + 4;
        let s = c.snapshot();
        assert_eq!(s.traces_received, threads * 100);
        assert_eq!(s.spans_received, 100 * threads * (threads + 1) / 2);
        // Threads take cells in turn (other tests' threads take some too, so which ones is
        // not known): the counts are spread.
        let used = c
            .received
            .iter()
            .filter(|cell| cell.traces.load(Ordering::Relaxed) > 0);
        assert!(
            used.count() > RECEIVED_CELLS / 2,
            "the threads share few cells"
        );
    }

    #[test]
    fn drop_reports_are_rate_limited_and_incremental() {
        let c = Counters::default();
        let mut r = DropReporter::new(Duration::from_secs(60));
        assert_eq!(r.due(&c.snapshot(), false), None, "nothing dropped");
        c.dropped(DropReason::QueueFull, 4, 40);
        let line = r.due(&c.snapshot(), false).unwrap();
        assert!(line.starts_with("dropped 4 trace(s)"), "{line}");
        c.dropped(DropReason::SendFailed, 1, 1);
        assert_eq!(r.due(&c.snapshot(), false), None, "within the minute");
        let line = r.due(&c.snapshot(), true).unwrap();
        assert!(
            line.contains("dropped 1 trace(s)") && line.contains("send_failed=1"),
            "{line}"
        );
    }
}
