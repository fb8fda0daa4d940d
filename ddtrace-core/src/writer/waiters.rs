//! The callers of `flush` and `shutdown` waiting for an answer, and what decides it.
//!
//! Every chunk the background thread takes gets a sequence number, the count of chunks taken
//! before it. A caller waits for the chunks pending when its request arrived: those numbered
//! below its target. It is answered once no pending chunk is older than the target (not once
//! as many chunks were resolved: a later chunk dropped early must not stand for an earlier one
//! still queued), `true` when none of them was dropped.

use crossbeam_channel::Sender;

/// One caller.
#[derive(Debug)]
struct Waiter {
    /// Chunks numbered below this are the caller's.
    target: u64,
    /// One of the caller's chunks was dropped.
    lost: bool,
    reply: Sender<bool>,
}

/// The waiting `flush` callers, and the `shutdown` caller once there is one.
#[derive(Debug, Default)]
pub(crate) struct Waiters {
    flushes: Vec<Waiter>,
    shutdown: Option<Waiter>,
}

impl Waiters {
    /// A flush caller waiting for the chunks numbered below `target`.
    pub(crate) fn flush(&mut self, target: u64, reply: Sender<bool>) {
        self.flushes.push(Waiter {
            target,
            lost: false,
            reply,
        });
    }

    /// The shutdown caller, waiting for the chunks numbered below `target`; answered by
    /// [`finish`](Self::finish).
    pub(crate) fn shutdown(&mut self, target: u64, reply: Sender<bool>) {
        self.shutdown = Some(Waiter {
            target,
            lost: false,
            reply,
        });
    }

    /// Whether a flush caller waits (the writer then seals and sends at once).
    pub(crate) fn any_flush(&self) -> bool {
        !self.flushes.is_empty()
    }

    /// Chunks from number `first_seq` on (at least one of them that number) were dropped.
    pub(crate) fn dropped(&mut self, first_seq: u64) {
        for w in self.flushes.iter_mut().chain(self.shutdown.as_mut()) {
            if first_seq < w.target {
                w.lost = true;
            }
        }
    }

    /// Answers the flush callers none of whose chunks is still pending: `oldest` is the
    /// number of the oldest pending chunk (or the next to be taken, when none is).
    pub(crate) fn answer(&mut self, oldest: u64) {
        self.flushes.retain(|w| {
            if oldest >= w.target {
                let _ = w.reply.try_send(!w.lost);
                false
            } else {
                true
            }
        });
    }

    /// The writer stops, having dropped whatever it could not send (reported through
    /// [`dropped`](Self::dropped)): answers everyone, `false` for a flush still waiting.
    pub(crate) fn finish(&mut self, oldest: u64) {
        self.answer(oldest);
        for w in self.flushes.drain(..) {
            let _ = w.reply.try_send(false);
        }
        if let Some(w) = self.shutdown.take() {
            let _ = w.reply.try_send(!w.lost && oldest >= w.target);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiter() -> (Sender<bool>, crossbeam_channel::Receiver<bool>) {
        crossbeam_channel::bounded(1)
    }

    #[test]
    fn a_caller_is_answered_when_its_oldest_chunk_is_resolved_not_when_enough_are() {
        let mut w = Waiters::default();
        let (tx, rx) = waiter();
        w.flush(5, tx);
        // Chunk 7 (after the call) dropped early, chunks 4.. still pending.
        w.dropped(7);
        w.answer(4);
        assert!(rx.try_recv().is_err(), "chunk 4 is still pending");
        w.answer(8);
        assert_eq!(
            rx.try_recv(),
            Ok(true),
            "the later drop is not the caller's"
        );
    }

    #[test]
    fn a_dropped_chunk_of_the_callers_makes_the_answer_false() {
        let mut w = Waiters::default();
        let (early, early_rx) = waiter();
        let (late, late_rx) = waiter();
        w.flush(3, early);
        w.flush(10, late);
        w.dropped(4); // a payload of chunks 4..: only the second caller's
        w.answer(10);
        assert_eq!(early_rx.try_recv(), Ok(true));
        assert_eq!(late_rx.try_recv(), Ok(false));
    }

    #[test]
    fn finishing_answers_everyone() {
        let mut w = Waiters::default();
        let (flush, flush_rx) = waiter();
        let (stop, stop_rx) = waiter();
        w.flush(3, flush);
        w.shutdown(3, stop);
        w.finish(2);
        assert_eq!(flush_rx.try_recv(), Ok(false));
        assert_eq!(stop_rx.try_recv(), Ok(false));

        let (stop, stop_rx) = waiter();
        w.shutdown(3, stop);
        w.finish(3);
        assert_eq!(stop_rx.try_recv(), Ok(true));

        let (stop, stop_rx) = waiter();
        w.shutdown(3, stop);
        w.dropped(0);
        w.finish(3);
        assert_eq!(stop_rx.try_recv(), Ok(false));
    }
}
