//! The agent writer's background thread: a current-thread tokio runtime that drains the
//! hand-off channel, finalizes and encodes chunks into payloads, sends one payload at a time
//! (retries included) while it keeps encoding, reads `/info`, and answers flush and shutdown
//! requests.
//!
//! Sealed payloads wait behind the one in flight up to [`MAX_READY_BYTES`] (encoded bytes are
//! about a third of the memory of the spans they hold, so the worker encodes ahead of a slow
//! agent); past that the worker stops draining, the channel fills and the application's exports
//! are dropped (`queue_full`), so memory stays bounded when the agent is slow or down.
//!
//! Chunks that application threads encoded under overload (see `queue`) are appended to the
//! current v0.4 payload as they are, or, when the payloads are v0.5, to a v0.4 payload beside
//! it (see `batch`). The worker allows that only while the agent answers (`/info` or the last
//! payload).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::batch::{Batcher, Payload, remake};
use super::info::{AgentInfo, Negotiated};
use super::queue::{Control, Queued, WorkerIo};
use super::stats::{DropReason, DropReporter};
use super::transport::{Outcome, Transport};
use super::waiters::Waiters;
use crate::SpanData;
use crate::encode::ApiVersion;
use crate::log::{self, Level, debug, warn_once};
use crate::rates::AgentRates;

/// Encoded bytes of sealed payloads waiting behind the one in flight (one payload may always
/// wait, whatever its size).
const MAX_READY_BYTES: usize = 16 * 1024 * 1024;
/// Chunks drained between two looks at the network and the control channel.
const DRAIN_BUDGET: usize = 1024;
/// When nothing is in flight, a payload this big is sent without waiting for the interval.
const EAGER_BYTES: usize = 1024 * 1024;
/// Bytes a half of a payload split after a 413 may take beyond half of it (see
/// `Worker::split_refused`): the array header each half repeats.
const SPLIT_SLACK: usize = 8;
/// Payloads are never sealed smaller than this after a 413 (the smallest payload limit that
/// can be configured), and a refused payload this small is dropped, not split: an agent that
/// refuses everything costs one request per payload, not one per trace.
const MIN_SEAL_AT: usize = 1024;
/// Drops are summarised at most this often.
const DROP_REPORT_EVERY: Duration = Duration::from_secs(60);
/// After a failed `/info`, the first wait before asking again (once a payload went through).
const INFO_BACKOFF_MIN: Duration = Duration::from_secs(1);
/// The longest wait between two `/info` attempts while it keeps failing.
const INFO_BACKOFF_MAX: Duration = Duration::from_secs(300);

type Pending<T> = Option<Pin<Box<dyn Future<Output = T>>>>;

/// What the worker needs from the configuration.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) wanted: ApiVersion,
    pub(crate) max_payload: usize,
    pub(crate) interval: Duration,
    pub(crate) shutdown_timeout: Duration,
}

/// A payload on the wire, minus its body (owned by the request).
struct InFlight {
    version: ApiVersion,
    traces: u64,
    spans: u64,
    bytes: u64,
    chunks: Option<Vec<Vec<crate::SpanData>>>,
    first_seq: u64,
}

impl InFlight {
    /// The payload again, with its body back from the request.
    fn into_payload(self, body: bytes::Bytes) -> Payload {
        Payload {
            body,
            version: self.version,
            traces: self.traces,
            spans: self.spans,
            chunks: self.chunks,
            first_seq: self.first_seq,
        }
    }
}

/// Runs the worker until shutdown (on the writer's own thread).
pub(crate) fn run(io: WorkerIo, transport: Transport, rates: Arc<AgentRates>, settings: Settings) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            warn_once(
                "writer:runtime",
                format_args!(
                    "the trace writer could not start its runtime ({e}); traces are dropped"
                ),
            );
            drop_everything(io);
            return;
        }
    };
    let worker = Worker::new(io, Arc::new(transport), rates, settings);
    runtime.block_on(worker.run());
    // Everything is answered: do not wait for a blocking task (a DNS lookup stuck in the
    // resolver) to end, or `shutdown` would wait for it when it joins this thread.
    runtime.shutdown_background();
}

/// Without a runtime: answer every request with `false` and count everything as dropped.
fn drop_everything(mut io: WorkerIo) {
    loop {
        let msg = io.control.blocking_recv();
        for item in io.chunks.try_iter() {
            io.shared.taken(io.shared.took(&item));
            io.shared
                .counters
                .dropped(DropReason::SendFailed, 1, item.spans());
        }
        match msg {
            Some(Control::Flush { reply }) => {
                let _ = reply.try_send(false);
            }
            Some(Control::Shutdown { reply, deadline }) => {
                io.wait_for_exports(deadline);
                for item in io.chunks.try_iter() {
                    io.shared.taken(io.shared.took(&item));
                    io.shared
                        .counters
                        .dropped(DropReason::Shutdown, 1, item.spans());
                }
                let _ = reply.try_send(false);
                return;
            }
            None => return,
        }
    }
}

struct Worker {
    io: WorkerIo,
    transport: Arc<Transport>,
    rates: Arc<AgentRates>,
    settings: Settings,
    info: Option<AgentInfo>,
    /// The first `/info` attempt has not answered yet: encoding waits for it.
    info_first: bool,
    /// The last `/info` attempt failed: try again once the agent answers, not before
    /// `info_retry_at`.
    info_failed: bool,
    info_retry_at: Instant,
    /// A payload could not be sent since the last delivery: the agent was unreachable.
    sends_failed: bool,
    /// The wait before the next `/info` attempt after one more failure (doubles up to
    /// [`INFO_BACKOFF_MAX`]).
    info_backoff: Duration,
    info_requested: bool,
    v05_refused: bool,
    v05_confirmed: bool,
    /// v0.5 payloads queued or in flight with their chunks kept (`Payload::chunks`), to be
    /// re-encoded in v0.4 if the agent refuses v0.5: the probes. While one is out and v0.5 is
    /// not yet confirmed, other chunks are encoded in v0.4, so only the probes keep their
    /// spans: in a burst, keeping every chunk until the first answer cost 80-110 MB of peak
    /// memory (e2e bench, `--v05`).
    v05_probes: usize,
    agent_state: Option<String>,
    /// The agent answered the last request (`/info` or a payload): only then may application
    /// threads encode under overload. While the agent fails, encoding ahead would only build a
    /// backlog that cannot be sent; the span cap drops early and cheaply instead.
    agent_ok: bool,
    batcher: Batcher,
    ready: VecDeque<Payload>,
    /// Encoded bytes in `ready`.
    ready_bytes: usize,
    in_flight: Option<InFlight>,
    /// Chunks taken out of the channel: the sequence number of the next one (see `waiters`).
    taken: u64,
    waiters: Waiters,
    /// When the writer must stop, once asked to.
    shutdown: Option<Instant>,
    reporter: DropReporter,
    /// Payloads are sealed at this size (`usize::MAX`: at the negotiated limit) since the agent
    /// refused one under that limit as too large (see `Batcher::set_seal_at`). Forgotten when
    /// `/info` is read again.
    seal_at: usize,
}

impl Worker {
    fn new(
        io: WorkerIo,
        transport: Arc<Transport>,
        rates: Arc<AgentRates>,
        settings: Settings,
    ) -> Self {
        let negotiated = Negotiated::new(settings.wanted, false, None, settings.max_payload);
        Worker {
            io,
            transport,
            rates,
            batcher: Batcher::new(negotiated, false),
            settings,
            info: None,
            info_first: true,
            info_failed: false,
            info_retry_at: Instant::now(),
            sends_failed: false,
            info_backoff: INFO_BACKOFF_MIN,
            info_requested: true,
            v05_refused: false,
            v05_confirmed: false,
            v05_probes: 0,
            agent_state: None,
            agent_ok: false,
            ready: VecDeque::new(),
            ready_bytes: 0,
            in_flight: None,
            taken: 0,
            waiters: Waiters::default(),
            shutdown: None,
            reporter: DropReporter::new(DROP_REPORT_EVERY),
            seal_at: usize::MAX,
        }
    }

    async fn run(mut self) {
        let mut sending: Pending<(Outcome, bytes::Bytes)> = None;
        let mut info: Pending<Result<AgentInfo, String>> = None;
        let shared = Arc::clone(&self.io.shared);
        let mut next_flush = Instant::now() + self.settings.interval;
        loop {
            if self.info_requested && info.is_none() {
                self.info_requested = false;
                let transport = Arc::clone(&self.transport);
                info = Some(Box::pin(async move { transport.info().await }));
            }
            let more = !self.info_first && self.drain();
            let now = Instant::now();
            if now >= next_flush {
                self.seal();
                next_flush = now + self.settings.interval;
                self.report_drops(false);
            }
            let urgent = self.waiters.any_flush() || self.shutdown.is_some();
            let idle_sender = sending.is_none() && self.ready.is_empty();
            let eager =
                self.batcher.size() >= EAGER_BYTES.min(self.batcher.negotiated().max_payload / 2);
            if !self.info_first && !more && (urgent || (idle_sender && eager)) {
                self.seal();
            }
            if sending.is_none() {
                sending = self.start_next();
            }
            self.answer_waiters();
            if let Some(deadline) = &self.shutdown {
                let idle = sending.is_none()
                    && self.ready.is_empty()
                    && self.batcher.is_empty()
                    && self.io.chunks.is_empty();
                if idle || now >= *deadline {
                    self.finish(sending.is_some());
                    return;
                }
            }
            let shutdown_at = self.shutdown;
            tokio::select! {
                biased;
                (outcome, body) = poll(&mut sending) => {
                    sending = None;
                    self.handle(outcome, &body);
                    self.batcher.recycle(body);
                }
                answer = poll(&mut info) => {
                    info = None;
                    self.apply_info(answer);
                }
                msg = self.io.control.recv() => self.control(msg),
                () = shared.woken() => {}
                () = tokio::time::sleep_until(next_flush.into()) => {}
                () = sleep_until_opt(shutdown_at) => {}
                () = std::future::ready(()), if more => {}
            }
        }
    }

    /// Takes up to [`DRAIN_BUDGET`] chunks; returns whether it stopped only for the budget.
    fn drain(&mut self) -> bool {
        let mut spans_taken = 0;
        let mut n = 0;
        let mut budget_hit = false;
        while self.ready.is_empty() || self.ready_bytes < MAX_READY_BYTES {
            if n == DRAIN_BUDGET {
                budget_hit = true;
                break;
            }
            let Ok(item) = self.io.chunks.try_recv() else {
                break;
            };
            n += 1;
            let seq = self.taken;
            self.taken += 1;
            spans_taken += self.io.shared.took(&item);
            let mut app_heap = false;
            let pushed = match item {
                Queued::Chunk(chunk) => {
                    // Asked before finalizing, which allocates here (see `WorkerIo::recycle`).
                    app_heap = WorkerIo::recyclable(&chunk.spans)
                        && chunk.spans.iter().any(SpanData::owns_heap);
                    let (spans, root) = chunk.finalize_in_place();
                    self.batcher.push(spans, root, seq)
                }
                Queued::Encoded(e) => {
                    let pushed = self.batcher.push_encoded(&e.bytes, e.spans, seq);
                    self.io.recycle_bytes(e.bytes);
                    pushed
                }
            };
            self.queue(pushed.sealed);
            self.queue(pushed.alone);
            if let Some(buffer) = pushed.spent {
                self.io.recycle(buffer, app_heap);
            }
            if let Some(spans) = pushed.too_large {
                self.drop_resolved(DropReason::TooLarge, 1, spans, seq);
                warn_once(
                    "writer:too_large",
                    format_args!(
                        "a trace of {spans} spans is larger than the {}-byte payload limit; it was dropped",
                        self.batcher.negotiated().max_payload
                    ),
                );
            }
        }
        self.io.shared.taken(spans_taken);
        self.io.hand_back();
        budget_hit
    }

    fn seal(&mut self) {
        let sealed = self.batcher.seal();
        self.queue(sealed);
        let side = self.batcher.seal_side();
        self.queue(side);
    }

    /// Queues sealed payloads behind the others. The first v0.5 probe switches the encoding to
    /// v0.4 until it is answered (see `v05_probes`).
    fn queue(&mut self, payloads: impl IntoIterator<Item = Payload>) {
        let mut new_probe = false;
        for p in payloads {
            if Self::is_probe(p.version, p.chunks.is_some()) {
                self.v05_probes += 1;
                new_probe = true;
            }
            self.ready_bytes += p.body.len();
            self.ready.push_back(p);
        }
        if new_probe && self.batcher.negotiated().version == ApiVersion::V05 {
            self.renegotiate();
        }
    }

    /// Whether a payload is a v0.5 probe: v0.5 with its chunks kept for re-encoding.
    fn is_probe(version: ApiVersion, kept: bool) -> bool {
        version == ApiVersion::V05 && kept
    }

    fn start_next(&mut self) -> Pending<(Outcome, bytes::Bytes)> {
        let payload = self.ready.pop_front()?;
        self.ready_bytes -= payload.body.len();
        let Payload {
            body,
            version,
            traces,
            spans,
            chunks,
            first_seq,
        } = payload;
        self.in_flight = Some(InFlight {
            version,
            traces,
            spans,
            bytes: body.len() as u64,
            chunks,
            first_seq,
        });
        debug!(
            "sending {traces} trace(s), {spans} span(s), {} bytes to {}",
            body.len(),
            version.path()
        );
        let transport = Arc::clone(&self.transport);
        let trace_count = usize::try_from(traces).unwrap_or(usize::MAX);
        Some(Box::pin(async move {
            // Once the request is done with the body, its buffer goes back to the batcher.
            let buffer = body.clone();
            let outcome = transport.send(body, version, trace_count).await;
            (outcome, buffer)
        }))
    }

    /// Counts `traces` dropped, the first of them chunk number `first_seq`.
    fn drop_resolved(&mut self, reason: DropReason, traces: u64, spans: u64, first_seq: u64) {
        self.io.shared.counters.dropped(reason, traces, spans);
        if traces > 0 {
            self.waiters.dropped(first_seq);
        }
    }

    /// The sequence number of the oldest chunk not yet sent or dropped (the next one to be
    /// taken when there is none).
    fn oldest_pending(&self) -> u64 {
        let queued = self.ready.iter().map(|p| p.first_seq);
        queued
            .chain(self.in_flight.as_ref().map(|f| f.first_seq))
            .chain(self.batcher.first_seq())
            .fold(self.taken, u64::min)
    }

    /// What to do once the agent answered the payload in flight, whose body was `body`.
    fn handle(&mut self, outcome: Outcome, body: &bytes::Bytes) {
        let Some(sent) = self.in_flight.take() else {
            return;
        };
        if Self::is_probe(sent.version, sent.chunks.is_some()) {
            self.v05_probes = self.v05_probes.saturating_sub(1);
            // Not answered either way (dropped or refused for another reason): the next
            // payload probes again.
            let unanswered = !matches!(
                outcome,
                Outcome::Delivered { .. } | Outcome::Fallback { .. }
            );
            if unanswered && self.v05_probes == 0 && !self.v05_confirmed {
                self.renegotiate();
            }
        }
        match outcome {
            Outcome::Delivered { rates, agent_state } => {
                self.set_agent_ok(true);
                self.io
                    .shared
                    .counters
                    .sent(sent.traces, sent.spans, sent.bytes);
                if let Some(rates) = rates {
                    self.rates.update(rates);
                }
                if sent.version == ApiVersion::V05 && !self.v05_confirmed {
                    self.v05_confirmed = true;
                    self.renegotiate();
                }
                if let Some(state) = agent_state {
                    if self.agent_state.as_ref().is_some_and(|old| *old != state) {
                        debug!("the agent state changed; reading /info again");
                        self.info_requested = true;
                    }
                    self.agent_state = Some(state);
                }
                // An agent that was unreachable and answers again is asked at once; one that
                // takes traces but not `/info` (an old one, a proxy) after a growing wait, not
                // after every payload.
                let came_back = std::mem::take(&mut self.sends_failed);
                if self.info_failed && (came_back || Instant::now() >= self.info_retry_at) {
                    self.info_failed = false;
                    self.info_requested = true;
                }
            }
            Outcome::Rejected { status: 413, .. }
                if sent.traces > 1 && body.len() > MIN_SEAL_AT =>
            {
                self.split_refused(sent, body);
            }
            Outcome::Rejected { status, reason } => {
                self.drop_resolved(
                    DropReason::Rejected,
                    sent.traces,
                    sent.spans,
                    sent.first_seq,
                );
                warn_once(
                    &format!("writer:rejected:{status}"),
                    format_args!(
                        "the agent refused {} trace(s) with {status}; they were dropped: {}",
                        sent.traces,
                        reason.trim()
                    ),
                );
            }
            Outcome::Fallback { status } => self.fall_back(sent, body, status),
            Outcome::Failed { reason } => {
                self.set_agent_ok(false);
                self.sends_failed = true;
                self.drop_resolved(
                    DropReason::SendFailed,
                    sent.traces,
                    sent.spans,
                    sent.first_seq,
                );
                debug!("dropped {} trace(s): {reason}", sent.traces);
                warn_once(
                    "writer:send_failed",
                    format_args!("sending traces to the agent failed, they were dropped: {reason}"),
                );
            }
        }
    }

    /// The agent refused a payload of several traces as too large (413), although it was under
    /// the negotiated limit: a lower limit applies, which the agent does not say (a proxy's,
    /// or the agent's own setting changed since `/info` was read). Payloads are sealed at half
    /// the refused size from now on, the refused one and the waiting ones larger than that are
    /// split and sent again (the oldest first), and only a trace that is refused alone is
    /// dropped. Each refusal halves the size again, so a limit is found in a few requests.
    fn split_refused(&mut self, sent: InFlight, body: &bytes::Bytes) {
        // Half, and room for the array header (and a v0.5 string table's share) each half
        // repeats.
        let seal_at = (body.len() / 2 + SPLIT_SLACK).max(MIN_SEAL_AT);
        self.seal_at = self.seal_at.min(seal_at);
        self.batcher.set_seal_at(self.seal_at);
        warn_once(
            "writer:split_refused",
            format_args!(
                "the agent refused a {}-byte payload as too large (413); sending its {} traces \
                 again in smaller payloads, and sealing payloads at {} bytes from now on",
                body.len(),
                sent.traces,
                self.seal_at
            ),
        );
        let negotiated = self.negotiated();
        let version = sent.version;
        let refused = sent.into_payload(body.clone());
        let mut again = self.remake_or_drop(refused, version, negotiated);
        let waiting: Vec<Payload> = self.ready.drain(..).collect();
        self.ready_bytes = 0;
        for payload in waiting {
            // A probe (chunks kept) is small; it keeps its place and its role.
            if payload.body.len() > self.seal_at && payload.traces > 1 && payload.chunks.is_none() {
                let version = payload.version;
                again.extend(self.remake_or_drop(payload, version, negotiated));
            } else {
                again.push(payload);
            }
        }
        for payload in again {
            self.ready_bytes += payload.body.len();
            self.ready.push_back(payload);
        }
    }

    /// [`remake`] in `version` under `negotiated`'s limit and [`seal_at`](Self::seal_at);
    /// counts what it drops (traces too large alone; a body it cannot read, which only a bug
    /// could make).
    fn remake_or_drop(
        &mut self,
        payload: Payload,
        version: ApiVersion,
        negotiated: Negotiated,
    ) -> Vec<Payload> {
        let (traces, spans, first_seq) = (payload.traces, payload.spans, payload.first_seq);
        let target = Negotiated {
            version,
            ..negotiated
        };
        match remake(payload, target, self.seal_at) {
            Ok((payloads, (traces, spans))) => {
                if traces > 0 {
                    self.drop_resolved(DropReason::TooLarge, traces, spans, first_seq);
                    warn_once(
                        "writer:too_large",
                        format_args!(
                            "{traces} trace(s) of {spans} spans in all are each larger than the \
                             {}-byte payload limit; they were dropped",
                            negotiated.max_payload
                        ),
                    );
                }
                payloads
            }
            Err(e) => {
                self.drop_resolved(DropReason::Rejected, traces, spans, first_seq);
                warn_once(
                    "writer:remake",
                    format_args!("{traces} trace(s) could not be sent again and were dropped: {e}"),
                );
                Vec::new()
            }
        }
    }

    /// The agent has no v0.5 endpoint: v0.4 from now on; what was encoded in v0.5 is made
    /// again in v0.4, from its kept chunks or from its bytes.
    fn fall_back(&mut self, sent: InFlight, body: &bytes::Bytes, status: u16) {
        warn_once(
            "writer:v05_fallback",
            format_args!("the agent answered {status} to /v0.5/traces; using /v0.4/traces"),
        );
        self.v05_refused = true;
        // Every kept payload is re-encoded below.
        self.v05_probes = 0;
        let negotiated = self.negotiated();
        let mut queue: Vec<Payload> = vec![sent.into_payload(body.clone())];
        queue.extend(self.ready.drain(..));
        self.ready_bytes = 0;
        queue.extend(self.batcher.reconfigure(negotiated, false));
        for payload in queue {
            if payload.version == negotiated.version {
                self.queue([payload]);
                continue;
            }
            let payloads = self.remake_or_drop(payload, negotiated.version, negotiated);
            self.queue(payloads);
        }
    }

    fn negotiated(&self) -> Negotiated {
        Negotiated::new(
            self.settings.wanted,
            // v0.4 while a probe is out (see `v05_probes`).
            self.v05_refused || (self.v05_probes > 0 && !self.v05_confirmed),
            self.info.as_ref(),
            self.settings.max_payload,
        )
    }

    fn set_agent_ok(&mut self, ok: bool) {
        if self.agent_ok != ok {
            self.agent_ok = ok;
            self.update_help(self.batcher.negotiated());
        }
    }

    /// Under overload, application threads may encode v0.4 chunks themselves (see `queue`):
    /// allowed while the agent answers. With v0.5 payloads they go to v0.4 payloads beside them
    /// (see `batch`).
    fn update_help(&self, negotiated: Negotiated) {
        self.io
            .shared
            .set_help(self.agent_ok.then_some(negotiated.options));
    }

    fn renegotiate(&mut self) {
        let negotiated = self.negotiated();
        self.update_help(negotiated);
        let keep = negotiated.version == ApiVersion::V05 && !self.v05_confirmed;
        let sealed = self.batcher.reconfigure(negotiated, keep);
        self.queue(sealed);
    }

    fn apply_info(&mut self, answer: Result<AgentInfo, String>) {
        self.info_first = false;
        match answer {
            Ok(info) => {
                debug!("agent /info: {info:?}");
                self.info = Some(info);
                // Its limit holds again until the agent refuses a payload under it.
                self.seal_at = usize::MAX;
                self.batcher.set_seal_at(usize::MAX);
                self.info_failed = false;
                self.info_backoff = INFO_BACKOFF_MIN;
                self.agent_ok = true;
            }
            Err(e) => {
                self.agent_ok = false;
                debug!(
                    "agent /info unavailable ({e}); using v0.4 defaults until it answers \
                     (asked again in {:?} at the earliest)",
                    self.info_backoff
                );
                self.info_failed = true;
                self.info_retry_at = Instant::now() + self.info_backoff;
                self.info_backoff = (self.info_backoff * 2).min(INFO_BACKOFF_MAX);
            }
        }
        self.renegotiate();
    }

    fn control(&mut self, msg: Option<Control>) {
        match msg {
            Some(Control::Flush { reply }) => {
                let target = self.taken + self.io.chunks.len() as u64;
                self.waiters.flush(target, reply);
            }
            Some(Control::Shutdown { deadline, reply }) => {
                self.io.wait_for_exports(deadline);
                let target = self.taken + self.io.chunks.len() as u64;
                self.waiters.shutdown(target, reply);
                self.shutdown = Some(deadline);
            }
            None => {
                // The writer is gone without a shutdown request: stop with its default wait.
                if self.shutdown.is_none() {
                    let deadline = crate::clock::deadline_after(self.settings.shutdown_timeout);
                    self.shutdown = Some(deadline);
                }
            }
        }
    }

    fn answer_waiters(&mut self) {
        if self.waiters.any_flush() {
            let oldest = self.oldest_pending();
            self.waiters.answer(oldest);
        }
    }

    /// Stops: counts whatever is left as dropped (`shutdown`) and answers everyone.
    fn finish(&mut self, was_sending: bool) {
        if was_sending && let Some(sent) = self.in_flight.take() {
            self.drop_resolved(
                DropReason::Shutdown,
                sent.traces,
                sent.spans,
                sent.first_seq,
            );
        }
        let ready: Vec<Payload> = self.ready.drain(..).collect();
        self.ready_bytes = 0;
        for p in ready {
            self.drop_resolved(DropReason::Shutdown, p.traces, p.spans, p.first_seq);
        }
        // (No first chunk only when there is nothing to count.)
        let first = self.batcher.first_seq().unwrap_or(0);
        let (traces, spans) = self.batcher.discard();
        self.drop_resolved(DropReason::Shutdown, traces, spans, first);
        let mut left_spans = 0;
        let mut left = 0;
        let first_left = self.taken;
        for item in self.io.chunks.try_iter() {
            left_spans += self.io.shared.took(&item);
            left += 1;
            self.io
                .shared
                .counters
                .dropped(DropReason::Shutdown, 1, item.spans());
        }
        self.taken += left;
        if left > 0 {
            self.waiters.dropped(first_left);
        }
        self.io.shared.taken(left_spans);
        self.waiters.finish(self.taken);
        self.report_drops(true);
    }

    fn report_drops(&mut self, force: bool) {
        let stats = self.io.shared.counters.snapshot();
        if let Some(line) = self.reporter.due(&stats, force) {
            log::log(Level::Warn, format_args!("{line}"));
        }
    }
}

async fn poll<T>(pending: &mut Pending<T>) -> T {
    match pending {
        Some(future) => future.await,
        None => std::future::pending().await,
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}
