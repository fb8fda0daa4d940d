//! Batching finalized chunks into request bodies that stay under the size limit.
//!
//! Chunks are encoded as soon as they arrive, so what the writer buffers is mostly compact
//! encoded bytes. A chunk that does not fit in the current payload seals it and starts the next
//! one; a chunk that does not fit in an empty payload can never be sent and is dropped
//! (`too_large`). Until the agent has accepted a v0.5 payload, the first ones (the probes) keep
//! their finalized chunks beside the bytes, so a payload refused with 404/415 can be re-encoded
//! in v0.4; the worker encodes the chunks that come meanwhile in v0.4 (see `worker`).
//!
//! Chunks that application threads encoded in v0.4 under overload (see `queue`) join the
//! current payload when it is v0.4. When it is v0.5 they cannot (its strings live in a table
//! of its own), so they fill a v0.4 payload beside it, sealed with it and sent to `/v0.4/traces`.

use super::info::Negotiated;
use crate::SpanData;
use crate::encode::{ApiVersion, EncodedPush, PayloadEncoder, PushError};

/// A payload that keeps its chunks (a v0.5 probe, see the module doc) is sealed once it holds
/// this many encoded bytes: about 1,500 spans, whose finalized chunks (about 0.8 MB) wait for
/// the agent's answer.
const PROBE_BYTES: usize = 256 * 1024;

/// One sealed request body.
#[derive(Debug)]
pub(crate) struct Payload {
    pub(crate) body: bytes::Bytes,
    pub(crate) version: ApiVersion,
    pub(crate) traces: u64,
    pub(crate) spans: u64,
    /// The finalized chunks, when kept for re-encoding.
    pub(crate) chunks: Option<Vec<Vec<SpanData>>>,
    /// The sequence number (the writer's count of chunks taken before it) of its first chunk:
    /// the oldest chunk it holds, as the writer's flush waiters need to know.
    pub(crate) first_seq: u64,
}

/// What [`Batcher::push`] did besides adding the chunk.
#[derive(Debug, Default)]
pub(crate) struct Pushed {
    /// The previous payload, sealed because the chunk did not fit in it.
    pub(crate) sealed: Option<Payload>,
    /// The chunk alone is over the limit: it was dropped (its span count).
    pub(crate) too_large: Option<u64>,
    /// The v0.4 payload beside a v0.5 one (see the module doc), sealed because a pre-encoded
    /// chunk did not fit in it.
    pub(crate) alone: Option<Payload>,
    /// The chunk's buffer once encoded (unless kept for re-encoding), for reuse.
    pub(crate) spent: Option<Vec<SpanData>>,
}

/// The payload being filled.
#[derive(Debug)]
pub(crate) struct Batcher {
    encoder: PayloadEncoder,
    negotiated: Negotiated,
    keep_chunks: bool,
    kept: Vec<Vec<SpanData>>,
    traces: u64,
    spans: u64,
    /// The sequence number of the first chunk in the current payload.
    first_seq: Option<u64>,
    /// The v0.4 payload of pre-encoded chunks beside a v0.5 one, once there is one.
    side: Option<Side>,
    /// A payload is sealed before a chunk takes it past this many bytes, a lower limit than
    /// `max_payload` that the agent showed (see [`set_seal_at`](Self::set_seal_at)); a chunk
    /// larger than this alone still goes, alone, up to `max_payload`.
    seal_at: usize,
}

/// A v0.4 payload of chunks application threads encoded (see the module doc).
#[derive(Debug)]
struct Side {
    encoder: PayloadEncoder,
    traces: u64,
    spans: u64,
    first_seq: Option<u64>,
}

impl Side {
    fn seal(&mut self) -> Option<Payload> {
        if self.traces == 0 {
            return None;
        }
        Some(Payload {
            body: self.encoder.take_bytes(),
            version: ApiVersion::V04,
            traces: std::mem::take(&mut self.traces),
            spans: std::mem::take(&mut self.spans),
            chunks: None,
            first_seq: self.first_seq.take().unwrap_or(0),
        })
    }
}

impl Batcher {
    pub(crate) fn new(negotiated: Negotiated, keep_chunks: bool) -> Batcher {
        Batcher {
            encoder: PayloadEncoder::new(negotiated.version, negotiated.options),
            negotiated,
            keep_chunks,
            kept: Vec::new(),
            traces: 0,
            spans: 0,
            first_seq: None,
            side: None,
            seal_at: usize::MAX,
        }
    }

    /// Seals payloads at `seal_at` bytes from now on (`usize::MAX`: at `max_payload`). The
    /// agent refused a payload as too large that was under `max_payload`: a lower limit applies
    /// (a proxy's, or the agent's own setting changed), which it does not say. A chunk larger
    /// than `seal_at` alone is still sent, alone: only the agent knows whether it fits.
    pub(crate) fn set_seal_at(&mut self, seal_at: usize) {
        self.seal_at = seal_at;
    }

    pub(crate) fn negotiated(&self) -> Negotiated {
        self.negotiated
    }

    /// Switches to new encoding settings, sealing what was encoded with the old ones.
    pub(crate) fn reconfigure(
        &mut self,
        negotiated: Negotiated,
        keep_chunks: bool,
    ) -> Option<Payload> {
        if negotiated == self.negotiated && keep_chunks == self.keep_chunks {
            return None;
        }
        let sealed = self.seal();
        if negotiated.version != self.negotiated.version
            || negotiated.options != self.negotiated.options
        {
            self.encoder = PayloadEncoder::new(negotiated.version, negotiated.options);
        }
        self.negotiated = negotiated;
        self.keep_chunks = keep_chunks;
        sealed
    }

    /// Encodes one finalized chunk whose root is `chunk[root]` (written first); `seq` is its
    /// sequence number (chunks come in sequence).
    pub(crate) fn push(&mut self, mut chunk: Vec<SpanData>, root: usize, seq: u64) -> Pushed {
        let max = self.negotiated.max_payload;
        let mut out = Pushed::default();
        if self.keep_chunks && self.traces > 0 && self.encoder.size_estimate() >= PROBE_BYTES {
            // A probe is kept small: its spans are held until the agent answers it.
            out.sealed = self.seal();
        }
        let soft = self.seal_at.min(max);
        let mut result = self.encoder.try_push_chunk_rooted(&chunk, root, soft);
        if let Err(PushError::PayloadFull { .. }) = result {
            out.sealed = self.seal();
            result = self.encoder.try_push_chunk_rooted(&chunk, root, soft);
        }
        if let Err(PushError::ChunkTooLarge { .. }) = result
            && soft < max
        {
            // Alone in the payload: only the hard limit applies.
            result = self.encoder.try_push_chunk_rooted(&chunk, root, max);
        }
        match result {
            Ok(()) => {
                self.traces += 1;
                self.spans += chunk.len() as u64;
                self.first_seq.get_or_insert(seq);
                if self.keep_chunks {
                    // Kept chunks are re-encoded root first as they are.
                    if root > 0 && root < chunk.len() {
                        chunk[..=root].rotate_right(1);
                    }
                    self.kept.push(chunk);
                } else {
                    out.spent = Some(chunk);
                }
            }
            Err(_) => {
                out.too_large = Some(chunk.len() as u64);
                out.spent = Some(chunk);
            }
        }
        out
    }

    /// Adds a chunk an application thread encoded in v0.4 (see `queue`). Into a v0.5 payload
    /// it cannot go: it is then sent as a v0.4 payload of its own (the negotiation changed
    /// while it was on its way, a rare case).
    pub(crate) fn push_encoded(&mut self, chunk: &[u8], spans: u64, seq: u64) -> Pushed {
        let max = self.negotiated.max_payload;
        let mut out = Pushed::default();
        let soft = self.seal_at.min(max);
        let mut result = self.encoder.try_push_encoded_v04(chunk, soft);
        if result == EncodedPush::Full {
            out.sealed = self.seal();
            result = self.encoder.try_push_encoded_v04(chunk, soft);
        }
        if result == EncodedPush::TooLarge && soft < max {
            // Alone in the payload: only the hard limit applies.
            result = self.encoder.try_push_encoded_v04(chunk, max);
        }
        match result {
            EncodedPush::Pushed => {
                self.traces += 1;
                self.spans += spans;
                self.first_seq.get_or_insert(seq);
            }
            EncodedPush::Full | EncodedPush::TooLarge => out.too_large = Some(spans),
            EncodedPush::NotV04 => {
                let options = self.negotiated.options;
                let side = self.side.get_or_insert_with(|| Side {
                    encoder: PayloadEncoder::new(ApiVersion::V04, options),
                    traces: 0,
                    spans: 0,
                    first_seq: None,
                });
                let mut result = side.encoder.try_push_encoded_v04(chunk, soft);
                if result == EncodedPush::Full {
                    out.alone = side.seal();
                    result = side.encoder.try_push_encoded_v04(chunk, soft);
                }
                if result == EncodedPush::TooLarge && soft < max {
                    result = side.encoder.try_push_encoded_v04(chunk, max);
                }
                if result == EncodedPush::Pushed {
                    side.traces += 1;
                    side.spans += spans;
                    side.first_seq.get_or_insert(seq);
                } else {
                    out.too_large = Some(spans);
                }
            }
        }
        out
    }

    /// Takes back a sent body's buffer for the next payload (see [`PayloadEncoder::recycle`]).
    pub(crate) fn recycle(&mut self, body: bytes::Bytes) {
        match &mut self.side {
            // Only v0.4 payloads reuse a body: beside a v0.5 one, that is the v0.4 payload.
            Some(side) if self.negotiated.version == ApiVersion::V05 => side.encoder.recycle(body),
            _ => self.encoder.recycle(body),
        }
    }

    /// The encoded size so far (with the v0.4 payload beside a v0.5 one, sealed with it).
    pub(crate) fn size(&self) -> usize {
        self.encoder.size_estimate()
            + self
                .side
                .as_ref()
                .map_or(0, |side| side.encoder.size_estimate())
    }

    /// Whether nothing waits to be sealed (neither in the current payload nor beside it).
    pub(crate) fn is_empty(&self) -> bool {
        self.traces == 0 && self.side.as_ref().is_none_or(|s| s.traces == 0)
    }

    /// Seals the current payload (if any chunk is in it) and starts an empty one.
    pub(crate) fn seal(&mut self) -> Option<Payload> {
        if self.traces == 0 {
            return None;
        }
        let payload = Payload {
            body: self.encoder.take_bytes(),
            version: self.negotiated.version,
            traces: std::mem::take(&mut self.traces),
            spans: std::mem::take(&mut self.spans),
            chunks: self.keep_chunks.then(|| std::mem::take(&mut self.kept)),
            first_seq: self.first_seq.take().unwrap_or(0),
        };
        Some(payload)
    }

    /// Seals the v0.4 payload beside a v0.5 one, if anything is in it.
    pub(crate) fn seal_side(&mut self) -> Option<Payload> {
        self.side.as_mut()?.seal()
    }

    /// The sequence number of the oldest chunk waiting to be sealed, if any.
    pub(crate) fn first_seq(&self) -> Option<u64> {
        let side = self.side.as_ref().and_then(|s| s.first_seq);
        match (self.first_seq, side) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Drops the current payload and the one beside it; returns their (traces, spans).
    pub(crate) fn discard(&mut self) -> (u64, u64) {
        self.first_seq = None;
        self.encoder.clear();
        self.kept.clear();
        let side = self
            .side
            .take()
            .map_or((0, 0), |side| (side.traces, side.spans));
        (
            std::mem::take(&mut self.traces) + side.0,
            std::mem::take(&mut self.spans) + side.1,
        )
    }
}

/// Encodes `chunks` again with `negotiated` (the v0.5 → v0.4 fallback, or a payload split),
/// sealing payloads at `seal_at` bytes (see [`Batcher::set_seal_at`]); they came from a payload
/// whose first chunk was `first_seq`, as all the new payloads say. Returns the payloads and the
/// (traces, spans) that no longer fit any payload.
fn reencode(
    chunks: Vec<Vec<SpanData>>,
    negotiated: Negotiated,
    seal_at: usize,
    first_seq: u64,
) -> (Vec<Payload>, (u64, u64)) {
    let mut batcher = Batcher::new(negotiated, false);
    batcher.set_seal_at(seal_at);
    let mut payloads = Vec::new();
    let mut too_large = (0, 0);
    for chunk in chunks {
        let pushed = batcher.push(chunk, 0, first_seq);
        payloads.extend(pushed.sealed);
        if let Some(spans) = pushed.too_large {
            too_large.0 += 1;
            too_large.1 += spans;
        }
    }
    payloads.extend(batcher.seal());
    (payloads, too_large)
}

/// Makes a sealed payload again as payloads sealed at `seal_at` bytes (see
/// [`Batcher::set_seal_at`]) and at most `negotiated.max_payload`: from its kept chunks when
/// it has them, else from its bytes (the agent refused it after it was sealed: see
/// `encode::read`). A v0.5 body goes to `negotiated`'s version; a v0.4 body stays v0.4, its
/// chunks moved byte for byte. All the new payloads keep its first sequence number. Returns
/// the payloads and the (traces, spans) too large for any; an error if the body is not one
/// this crate encoded.
pub(crate) fn remake(
    payload: Payload,
    negotiated: Negotiated,
    seal_at: usize,
) -> Result<(Vec<Payload>, (u64, u64)), crate::encode::read::Malformed> {
    use crate::encode::read;
    let Payload {
        body,
        version,
        chunks,
        first_seq,
        ..
    } = payload;
    if let Some(chunks) = chunks {
        return Ok(reencode(chunks, negotiated, seal_at, first_seq));
    }
    if version == ApiVersion::V05 {
        let chunks = read::v05_chunks(&body)?;
        return Ok(reencode(chunks, negotiated, seal_at, first_seq));
    }
    let v04 = Negotiated {
        version: ApiVersion::V04,
        ..negotiated
    };
    let mut batcher = Batcher::new(v04, false);
    batcher.set_seal_at(seal_at);
    let mut payloads = Vec::new();
    let mut too_large = (0, 0);
    for (range, spans) in read::v04_chunks(&body)? {
        let pushed = batcher.push_encoded(&body[range], spans, first_seq);
        payloads.extend(pushed.sealed);
        if let Some(spans) = pushed.too_large {
            too_large.0 += 1;
            too_large.1 += spans;
        }
    }
    payloads.extend(batcher.seal());
    Ok((payloads, too_large))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::EncodeOptions;

    fn span(id: u64, name: &str) -> SpanData {
        SpanData {
            trace_id: crate::TraceId::from(id as u128),
            span_id: id,
            name: name.to_owned().into(),
            service: "svc".into(),
            resource: name.to_owned().into(),
            start: 1,
            duration: 1,
            ..Default::default()
        }
    }

    fn negotiated(version: ApiVersion, max: usize) -> Negotiated {
        Negotiated {
            version,
            options: EncodeOptions::new(),
            max_payload: max,
        }
    }

    fn decode_counts(body: &[u8]) -> Vec<usize> {
        let value: Vec<Vec<serde_json::Value>> = rmp_serde::from_slice(body).unwrap();
        value.iter().map(Vec::len).collect()
    }

    #[test]
    fn payloads_split_under_the_limit() {
        let one = {
            let mut b = Batcher::new(negotiated(ApiVersion::V04, usize::MAX), false);
            b.push(vec![span(1, "op")], 0, 0);
            b.size()
        };
        // Room for three one-span chunks, not four.
        let max = 1 + 3 * (one - 1);
        let mut b = Batcher::new(negotiated(ApiVersion::V04, max), false);
        let mut sealed = Vec::new();
        for id in 1..=7 {
            let pushed = b.push(vec![span(id, "op")], 0, 0);
            assert!(pushed.too_large.is_none());
            sealed.extend(pushed.sealed);
        }
        sealed.extend(b.seal());
        let sizes: Vec<(u64, u64)> = sealed.iter().map(|p| (p.traces, p.spans)).collect();
        assert_eq!(sizes, [(3, 3), (3, 3), (1, 1)]);
        for p in &sealed {
            assert!(p.body.len() <= max, "{} > {max}", p.body.len());
            assert_eq!(decode_counts(&p.body).len() as u64, p.traces);
            assert!(p.chunks.is_none());
        }
        assert!(b.is_empty());
        assert!(b.seal().is_none());
    }

    #[test]
    fn a_chunk_over_the_limit_is_refused_alone() {
        let mut b = Batcher::new(negotiated(ApiVersion::V04, 200), false);
        assert!(b.push(vec![span(1, "small")], 0, 0).too_large.is_none());
        let big: Vec<SpanData> = (0..20)
            .map(|i| span(2 + i, "a-rather-long-span-name"))
            .collect();
        let pushed = b.push(big, 0, 0);
        assert_eq!(pushed.too_large, Some(20));
        // The payload holding the small chunk was sealed on the way, and is intact.
        let sealed = pushed.sealed.unwrap();
        assert_eq!((sealed.traces, sealed.spans), (1, 1));
        assert_eq!(decode_counts(&sealed.body), [1]);
        assert!(b.is_empty());
    }

    #[test]
    fn kept_chunks_reencode_in_v04() {
        let mut b = Batcher::new(negotiated(ApiVersion::V05, 1 << 20), true);
        b.push(vec![span(1, "a"), span(1, "b")], 0, 0);
        b.push(vec![span(3, "c")], 0, 0);
        let p = b.seal().unwrap();
        assert_eq!(p.version, ApiVersion::V05);
        let chunks = p.chunks.unwrap();
        assert_eq!(chunks.len(), 2);
        let (payloads, too_large) =
            reencode(chunks, negotiated(ApiVersion::V04, 1 << 20), usize::MAX, 0);
        assert_eq!(too_large, (0, 0));
        assert_eq!(payloads.len(), 1);
        assert_eq!(payloads[0].version, ApiVersion::V04);
        assert_eq!((payloads[0].traces, payloads[0].spans), (2, 3));
        assert_eq!(decode_counts(&payloads[0].body), [2, 1]);
    }

    #[test]
    fn a_payload_that_keeps_its_chunks_is_sealed_small() {
        let mut b = Batcher::new(negotiated(ApiVersion::V05, 64 << 20), true);
        let big = |id| -> Vec<SpanData> { (0..100).map(|i| span(id * 1000 + i, "op")).collect() };
        let mut pushed = 0;
        let sealed = loop {
            let out = b.push(big(pushed), 0, 0);
            pushed += 1;
            if let Some(sealed) = out.sealed {
                break sealed;
            }
            assert!(pushed < 10_000, "never sealed");
        };
        // Sealed before the chunk that found it past PROBE_BYTES, far below the size limit.
        assert!(sealed.body.len() >= PROBE_BYTES, "{}", sealed.body.len());
        assert!(sealed.body.len() < 2 * PROBE_BYTES, "{}", sealed.body.len());
        assert_eq!(sealed.chunks.map(|c| c.len() as u64), Some(pushed - 1));
        assert_eq!((b.traces, b.spans), (1, 100));
        // Without keeping chunks, the same payload grows on.
        let mut b = Batcher::new(negotiated(ApiVersion::V05, 64 << 20), false);
        for id in 0..pushed {
            assert!(b.push(big(id), 0, 0).sealed.is_none());
        }
    }

    #[test]
    fn reconfigure_seals_the_old_encoding() {
        let mut b = Batcher::new(negotiated(ApiVersion::V04, 1 << 20), false);
        assert!(
            b.reconfigure(negotiated(ApiVersion::V04, 1 << 20), false)
                .is_none()
        );
        b.push(vec![span(1, "a")], 0, 0);
        let sealed = b
            .reconfigure(negotiated(ApiVersion::V05, 1 << 20), true)
            .unwrap();
        assert_eq!(sealed.version, ApiVersion::V04);
        b.push(vec![span(2, "b")], 0, 0);
        assert_eq!(b.seal().unwrap().version, ApiVersion::V05);
        b.push(vec![span(3, "c")], 0, 0);
        assert_eq!(b.discard(), (1, 1));
        assert!(b.is_empty());
    }

    fn encoded(id: u64, name: &str) -> Vec<u8> {
        crate::encode::encode_v04_chunk(EncodeOptions::new(), &[span(id, name)], 0)
    }

    #[test]
    fn encoded_chunks_join_v04_payloads_byte_for_byte() {
        let mut pre = Batcher::new(negotiated(ApiVersion::V04, 1 << 20), false);
        let mut own = Batcher::new(negotiated(ApiVersion::V04, 1 << 20), false);
        for id in 1..=20 {
            let pushed = pre.push_encoded(&encoded(id, "op"), 1, 0);
            assert!(
                pushed.sealed.is_none() && pushed.alone.is_none() && pushed.too_large.is_none()
            );
            own.push(vec![span(id, "op")], 0, 0);
        }
        assert_eq!(pre.size(), own.size());
        let (a, b) = (pre.seal().unwrap(), own.seal().unwrap());
        assert_eq!((a.traces, a.spans), (20, 20));
        assert_eq!(a.body, b.body);
    }

    #[test]
    fn encoded_chunks_seal_full_payloads_and_are_refused_when_too_large() {
        let one = encoded(1, "op").len();
        // Room for two chunks behind the header, not three.
        let mut b = Batcher::new(negotiated(ApiVersion::V04, 1 + 2 * one), false);
        assert!(b.push_encoded(&encoded(1, "op"), 1, 0).sealed.is_none());
        assert!(b.push_encoded(&encoded(2, "op"), 1, 0).sealed.is_none());
        let pushed = b.push_encoded(&encoded(3, "op"), 1, 0);
        let sealed = pushed.sealed.unwrap();
        assert_eq!(decode_counts(&sealed.body), [1, 1]);
        assert!(sealed.body.len() <= 1 + 2 * one);
        let big = crate::encode::encode_v04_chunk(
            EncodeOptions::new(),
            &(0..20)
                .map(|i| span(10 + i, "long-name"))
                .collect::<Vec<_>>(),
            0,
        );
        let pushed = b.push_encoded(&big, 20, 0);
        assert_eq!(pushed.too_large, Some(20));
        // The payload holding chunk 3 was sealed on the way, intact.
        assert_eq!(decode_counts(&pushed.sealed.unwrap().body), [1]);
        assert!(b.is_empty());
    }

    #[test]
    fn encoded_chunks_meeting_a_v05_payload_fill_a_v04_payload_beside_it() {
        let mut b = Batcher::new(negotiated(ApiVersion::V05, 1 << 20), true);
        b.push(vec![span(1, "a")], 0, 0);
        for id in [2, 3] {
            let pushed = b.push_encoded(&encoded(id, "b"), 1, 0);
            assert!(pushed.alone.is_none() && pushed.sealed.is_none());
        }
        // The v0.5 payload is untouched; the two chunks wait together in v0.4.
        let v05 = b.seal().unwrap();
        assert_eq!(
            (v05.version, v05.traces, v05.spans),
            (ApiVersion::V05, 1, 1)
        );
        assert!(!b.is_empty(), "the v0.4 payload beside it still waits");
        let v04 = b.seal_side().unwrap();
        assert_eq!(
            (v04.version, v04.traces, v04.spans),
            (ApiVersion::V04, 2, 2)
        );
        assert_eq!(decode_counts(&v04.body), [1, 1]);
        assert!(b.is_empty());
        assert!(b.seal_side().is_none());
    }

    #[test]
    fn a_full_v04_payload_beside_a_v05_one_is_sealed_and_discard_counts_both() {
        let one = encoded(2, "b").len();
        // Room for about two encoded chunks per payload.
        let mut b = Batcher::new(negotiated(ApiVersion::V05, 2 * one + 8), true);
        b.push(vec![span(1, "a")], 0, 0);
        assert!(b.push_encoded(&encoded(2, "b"), 1, 0).alone.is_none());
        assert!(b.push_encoded(&encoded(3, "b"), 1, 0).alone.is_none());
        let full = b.push_encoded(&encoded(4, "b"), 1, 0).alone.unwrap();
        assert_eq!((full.version, full.traces), (ApiVersion::V04, 2));
        // Chunk 4 started the next one; discarding drops it with the v0.5 payload.
        assert_eq!(b.discard(), (2, 2));
        assert!(b.is_empty());
    }

    #[test]
    fn a_sent_body_goes_to_the_v04_payload_beside_a_v05_one() {
        let mut b = Batcher::new(negotiated(ApiVersion::V05, 1 << 20), false);
        b.push(vec![span(1, "a")], 0, 0);
        b.push_encoded(&encoded(2, "b"), 1, 0);
        let first = b.seal_side().unwrap();
        let address = first.body.as_ptr() as usize;
        let _v05 = b.seal().unwrap();
        // The v0.5 payload cannot reuse a body; the v0.4 one beside it, empty now, takes it.
        b.recycle(first.body);
        b.push_encoded(&encoded(3, "b"), 1, 0);
        let second = b.seal_side().unwrap();
        let offset = (second.body.as_ptr() as usize).wrapping_sub(address);
        assert!(offset <= 16, "not the recycled buffer (offset {offset})");
        assert_eq!(decode_counts(&second.body), [1]);
    }

    /// A sealed payload of `chunks` chunks of `spans` spans each, in `version`, no chunks kept.
    fn sealed(version: ApiVersion, chunks: u64, spans: u64, first_seq: u64) -> Payload {
        let mut b = Batcher::new(negotiated(version, usize::MAX), false);
        for c in 0..chunks {
            let chunk = (0..spans).map(|i| span(c * 100 + i + 1, "op")).collect();
            b.push(chunk, 0, first_seq + c);
        }
        b.seal().unwrap()
    }

    #[test]
    fn a_v04_body_is_split_under_a_smaller_limit_byte_for_byte() {
        let whole = sealed(ApiVersion::V04, 5, 2, 7);
        let max = whole.body.len() / 2;
        let (parts, too_large) =
            remake(whole, negotiated(ApiVersion::V04, max), usize::MAX).unwrap();
        assert_eq!(too_large, (0, 0));
        let counts: Vec<(u64, u64)> = parts.iter().map(|p| (p.traces, p.spans)).collect();
        assert_eq!(counts, [(2, 4), (2, 4), (1, 2)]);
        let mut chunks = Vec::new();
        for p in &parts {
            assert!(p.body.len() <= max && p.version == ApiVersion::V04);
            assert_eq!(p.first_seq, 7);
            let value: Vec<Vec<serde_json::Value>> = rmp_serde::from_slice(&p.body).unwrap();
            chunks.extend(value);
        }
        let ids: Vec<u64> = chunks
            .iter()
            .flatten()
            .map(|s| s["span_id"].as_u64().unwrap())
            .collect();
        assert_eq!(ids, [1, 2, 101, 102, 201, 202, 301, 302, 401, 402]);
    }

    #[test]
    fn a_v05_body_is_made_again_in_v04_from_its_bytes() {
        let whole = sealed(ApiVersion::V05, 3, 2, 4);
        assert!(whole.chunks.is_none());
        let (parts, too_large) =
            remake(whole, negotiated(ApiVersion::V04, 1 << 20), usize::MAX).unwrap();
        assert_eq!(too_large, (0, 0));
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].version, ApiVersion::V04);
        assert_eq!(
            (parts[0].traces, parts[0].spans, parts[0].first_seq),
            (3, 6, 4)
        );
        let value: Vec<Vec<serde_json::Value>> = rmp_serde::from_slice(&parts[0].body).unwrap();
        let spans: Vec<(u64, &str)> = value
            .iter()
            .flatten()
            .map(|s| (s["span_id"].as_u64().unwrap(), s["name"].as_str().unwrap()))
            .collect();
        assert_eq!(
            spans,
            [
                (1, "op"),
                (2, "op"),
                (101, "op"),
                (102, "op"),
                (201, "op"),
                (202, "op")
            ]
        );
    }

    /// A v0.5 payload of a one-span chunk, a five-span one and another one-span one, and the
    /// size of a v0.4 payload holding one one-span chunk.
    fn mixed() -> (Payload, usize) {
        let mut b = Batcher::new(negotiated(ApiVersion::V05, usize::MAX), false);
        b.push(vec![span(1, "op")], 0, 0);
        b.push((10..15).map(|i| span(i, "op")).collect(), 0, 1);
        b.push(vec![span(2, "op")], 0, 2);
        let one = sealed(ApiVersion::V04, 1, 1, 0).body.len();
        (b.seal().unwrap(), one)
    }

    #[test]
    fn a_chunk_larger_than_the_hard_limit_is_counted_and_the_rest_kept() {
        let (parts, too_large) = remake(
            sealed(ApiVersion::V04, 3, 1, 0),
            negotiated(ApiVersion::V04, 4),
            4,
        )
        .unwrap();
        assert!(parts.is_empty());
        assert_eq!(too_large, (3, 3));
        let (payload, one) = mixed();
        let (parts, too_large) =
            remake(payload, negotiated(ApiVersion::V04, one + 4), usize::MAX).unwrap();
        assert_eq!(too_large, (1, 5));
        let spans: Vec<u64> = parts.iter().map(|p| p.spans).collect();
        assert_eq!(spans, [1, 1]);
    }

    #[test]
    fn a_chunk_larger_than_the_seal_size_goes_alone_and_is_not_dropped() {
        let (payload, one) = mixed();
        let (parts, too_large) =
            remake(payload, negotiated(ApiVersion::V04, 1 << 20), one + 4).unwrap();
        assert_eq!(too_large, (0, 0));
        let spans: Vec<u64> = parts.iter().map(|p| p.spans).collect();
        assert_eq!(spans, [1, 5, 1]);
        // The same for chunks encoded on application threads.
        let mut b = Batcher::new(negotiated(ApiVersion::V04, 1 << 20), false);
        b.set_seal_at(one + 4);
        let chunk: Vec<SpanData> = (10..15).map(|i| span(i, "op")).collect();
        let big = crate::encode::encode_v04_chunk(EncodeOptions::new(), &chunk, 0);
        assert!(b.push_encoded(&encoded(1, "op"), 1, 0).sealed.is_none());
        let first = b.push_encoded(&big, 5, 1).sealed.unwrap();
        let second = b.push_encoded(&encoded(2, "op"), 1, 2).sealed.unwrap();
        assert!(b.push_encoded(&big, 5, 3).too_large.is_none());
        assert_eq!((first.spans, second.spans), (1, 5));
    }

    #[test]
    fn a_body_that_is_not_ours_is_an_error() {
        let mut bad = sealed(ApiVersion::V04, 2, 1, 0);
        bad.body = bytes::Bytes::from_static(&[0x92, 0x90]);
        assert!(remake(bad, negotiated(ApiVersion::V04, 100), usize::MAX).is_err());
    }
}
