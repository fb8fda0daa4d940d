//! `PayloadEncoder`: chunk counting, exact size accounting, reuse and the size limit.

use serde_json::{Value, json};

use super::{full_span, minimal_span, scan};
use crate::SpanData;
use crate::encode::{ApiVersion, EncodeOptions, PayloadEncoder, PushError};

const BOTH: [ApiVersion; 2] = [ApiVersion::V04, ApiVersion::V05];

fn chunk(n: u64) -> Vec<SpanData> {
    (0..n)
        .map(|i| {
            let mut span = full_span();
            span.span_id = i + 1;
            span.resource = format!("resource-{i}").into();
            span
        })
        .collect()
}

#[test]
fn empty_payloads() {
    let v04 = PayloadEncoder::new(ApiVersion::V04, EncodeOptions::new());
    assert!(v04.is_empty());
    assert_eq!(v04.size_estimate(), 1);
    assert_eq!(v04.finish(), [0x90]);
    let v05 = PayloadEncoder::new(ApiVersion::V05, EncodeOptions::new());
    assert_eq!(v05.size_estimate(), 4);
    // [[""], []]
    assert_eq!(v05.finish(), [0x92, 0x91, 0xa0, 0x90]);
}

#[test]
fn count_and_exact_size_over_many_chunks() {
    for version in BOTH {
        let mut payload = PayloadEncoder::new(version, EncodeOptions::new());
        assert_eq!(payload.version(), version);
        for i in 0..20u64 {
            payload.push_chunk(&chunk(i % 4 + 1));
            assert_eq!(payload.chunk_count(), i as usize + 1);
            // The estimate is the exact length of the body finished now (clone to peek).
            assert_eq!(payload.size_estimate(), payload.clone().finish().len());
        }
        let size = payload.size_estimate();
        let body = payload.finish();
        assert_eq!(body.len(), size);
        assert_eq!(scan(&body).bins, 0);
    }
}

#[test]
fn v04_body_is_the_array_of_chunks() {
    let mut payload = PayloadEncoder::new(ApiVersion::V04, EncodeOptions::new());
    payload.push_chunk(&[minimal_span()]);
    payload.push_chunk(&[minimal_span(), minimal_span()]);
    assert_eq!(payload.chunk_count(), 2);
    let body = payload.finish();
    assert_eq!(&body[..2], [0x92, 0x91]);
    let decoded: Value = rmp_serde::from_slice(&body).unwrap();
    assert_eq!(decoded.as_array().unwrap().len(), 2);
    assert_eq!(decoded[1].as_array().unwrap().len(), 2);
    assert_eq!(decoded[1][1]["name"], json!("n"));
}

#[test]
fn v04_many_chunks_use_array16_header() {
    let mut payload = PayloadEncoder::new(ApiVersion::V04, EncodeOptions::new());
    for _ in 0..16 {
        payload.push_chunk(&[minimal_span()]);
    }
    let size = payload.size_estimate();
    let body = payload.finish();
    assert_eq!(body.len(), size);
    assert_eq!(&body[..3], [0xdc, 0x00, 0x10]);
}

#[test]
fn take_and_clear_reuse_the_encoder() {
    for version in BOTH {
        let mut payload = PayloadEncoder::new(version, EncodeOptions::new());
        payload.push_chunk(&chunk(3));
        let first = payload.take();
        assert!(payload.is_empty());
        payload.push_chunk(&chunk(3));
        assert_eq!(payload.take(), first);
        payload.push_chunk(&chunk(2));
        payload.clear();
        assert_eq!(payload.chunk_count(), 0);
        payload.push_chunk(&chunk(3));
        assert_eq!(payload.finish(), first);
    }
}

#[test]
fn options_reach_the_v04_encoder() {
    let options = EncodeOptions::new().with_native_span_events(true);
    let mut payload = PayloadEncoder::new(ApiVersion::V04, options);
    payload.push_chunk(&[full_span()]);
    let decoded: Value = rmp_serde::from_slice(&payload.finish()).unwrap();
    assert!(decoded[0][0].get("span_events").is_some());
    assert!(decoded[0][0]["meta"].get("events").is_none());
}

#[test]
fn try_push_respects_the_limit_and_rolls_back() {
    for version in BOTH {
        let mut payload = PayloadEncoder::new(version, EncodeOptions::new());
        let one = {
            let mut p = PayloadEncoder::new(version, EncodeOptions::new());
            p.push_chunk(&chunk(2));
            p.size_estimate()
        };
        // Too large on its own.
        assert_eq!(
            payload.try_push_chunk(&chunk(2), one - 1),
            Err(PushError::ChunkTooLarge {
                size: one,
                max_size: one - 1
            })
        );
        assert!(payload.is_empty());
        assert_eq!(payload.size_estimate(), payload.clone().finish().len());
        // Fits alone; a second, different chunk does not fit and is rolled back.
        let limit = one + 40;
        assert_eq!(payload.try_push_chunk(&chunk(2), limit), Ok(()));
        let before = payload.clone().finish();
        let mut other = chunk(2);
        other[0]
            .meta
            .insert("a-new-string", "another-new-string".into());
        match payload.try_push_chunk(&other, limit) {
            Err(PushError::PayloadFull { would_be, max_size }) => {
                assert!(would_be > limit);
                assert_eq!(max_size, limit);
            }
            other => panic!("expected PayloadFull, got {other:?}"),
        }
        assert_eq!(payload.chunk_count(), 1);
        assert_eq!(payload.size_estimate(), before.len());
        assert_eq!(payload.clone().finish(), before);
        // After the rollback the new strings are really gone from the v0.5 table: pushing the
        // chunk without a limit gives the same bytes as a fresh payload would.
        payload.push_chunk(&other);
        let mut fresh = PayloadEncoder::new(version, EncodeOptions::new());
        fresh.push_chunk(&chunk(2));
        fresh.push_chunk(&other);
        assert_eq!(payload.finish(), fresh.finish());
    }
}

#[test]
fn zero_copy_bodies_equal_copied_ones_for_every_header_size() {
    // 1, 15 (fixarray), 16 and 70,000 (array16 / array32 headers) chunks.
    for version in BOTH {
        for chunks in [0u64, 1, 15, 16, 70_000] {
            let mut copied = PayloadEncoder::new(version, EncodeOptions::new());
            for i in 0..chunks {
                let mut span = minimal_span();
                span.span_id = i + 1;
                copied.push_chunk(&[span]);
            }
            let mut zero_copy = copied.clone();
            let size = copied.size_estimate();
            let expected = copied.take();
            assert_eq!(expected.len(), size, "{version} {chunks}");
            let body = zero_copy.take_bytes();
            assert_eq!(&body[..], &expected[..], "{version} {chunks}");
            // Both leave an empty payload that encodes again from scratch.
            assert!(zero_copy.is_empty());
            zero_copy.push_chunk(&[minimal_span()]);
            copied.push_chunk(&[minimal_span()]);
            assert_eq!(&zero_copy.take_bytes()[..], &copied.take()[..]);
        }
    }
}

#[test]
fn a_rooted_chunk_is_written_root_first_without_moving_it() {
    let spans = chunk(4);
    for version in BOTH {
        for root in 0..4 {
            let mut rooted = PayloadEncoder::new(version, EncodeOptions::new());
            rooted
                .try_push_chunk_rooted(&spans, root, usize::MAX)
                .unwrap();
            let mut moved = spans.clone();
            moved[..=root].rotate_right(1);
            let mut plain = PayloadEncoder::new(version, EncodeOptions::new());
            plain.push_chunk(&moved);
            assert_eq!(rooted.finish(), plain.finish(), "{version} root {root}");
        }
        // An index out of range writes the chunk as it is.
        let mut rooted = PayloadEncoder::new(version, EncodeOptions::new());
        rooted.try_push_chunk_rooted(&spans, 9, usize::MAX).unwrap();
        let mut plain = PayloadEncoder::new(version, EncodeOptions::new());
        plain.push_chunk(&spans);
        assert_eq!(rooted.finish(), plain.finish());
    }
}

#[test]
fn a_sent_body_is_recycled_once_nothing_else_holds_it() {
    let mut payload = PayloadEncoder::new(ApiVersion::V04, EncodeOptions::new());
    payload.push_chunk(&chunk(50));
    let body = payload.take_bytes();
    let first = body.clone();
    let held = body.clone();
    // Still shared (a request may still hold it): not taken back.
    payload.recycle(body);
    payload.push_chunk(&chunk(1));
    let small = payload.take_bytes();
    assert!(small.len() < first.len());
    drop(held);
    // The last holder gives it back: the next payload is encoded into the same allocation.
    let ptr = first.as_ptr();
    payload.recycle(first);
    payload.push_chunk(&chunk(2));
    let reused = payload.take_bytes();
    let mut fresh = PayloadEncoder::new(ApiVersion::V04, EncodeOptions::new());
    fresh.push_chunk(&chunk(2));
    assert_eq!(&reused[..], &fresh.take_bytes()[..]);
    // The body starts at most 4 bytes after where the recycled one did (the header room).
    let offset = (reused.as_ptr() as usize).wrapping_sub(ptr as usize);
    assert!(offset <= 4, "not the recycled buffer (offset {offset})");
}
