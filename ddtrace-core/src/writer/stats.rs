//! The writer's counters: atomics updated by the application threads (received, dropped on the
//! way in) and by the background thread (sent, dropped later, retries), read as
//! [`ExporterStats`].

use std::sync::atomic::{AtomicU64, Ordering};

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

/// Live counters, shared by the writer front and its background thread.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    traces_received: AtomicU64,
    spans_received: AtomicU64,
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
        self.traces_received.fetch_add(1, Ordering::Relaxed);
        self.spans_received.fetch_add(spans, Ordering::Relaxed);
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
        ExporterStats {
            traces_received: load(&self.traces_received),
            spans_received: load(&self.spans_received),
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
