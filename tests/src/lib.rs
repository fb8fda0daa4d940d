//! Shared helpers for the integration tests.
//!
//! [`CountingReceiver`]: an in-process HTTP receiver that stands in for the agent where the real
//! test agent cannot keep up (millions of spans): it answers `/info`, and trace requests with
//! a rate table, and counts the chunks and spans of each msgpack payload by walking its headers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test support

pub mod agent_spans;
pub mod burst;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Totals seen by a [`CountingReceiver`].
#[derive(Debug, Default)]
pub struct Counts {
    /// Trace requests.
    pub requests: AtomicU64,
    /// Chunks (traces) in them.
    pub chunks: AtomicU64,
    /// Spans in them.
    pub spans: AtomicU64,
    /// Body bytes.
    pub bytes: AtomicU64,
    /// Requests whose `X-Datadog-Trace-Count` did not match the body.
    pub bad_count_header: AtomicU64,
}

/// A minimal agent that counts what it receives.
#[derive(Debug)]
pub struct CountingReceiver {
    url: String,
    counts: Arc<Counts>,
}

impl CountingReceiver {
    /// Listens on a free loopback port (one thread per connection); answers trace requests
    /// with an empty rate table (no change).
    pub fn start() -> CountingReceiver {
        CountingReceiver::start_with_rates("{}")
    }

    /// [`start`](Self::start), answering trace requests with `rate_by_service` (a JSON
    /// object), as an agent that has seen the services does.
    pub fn start_with_rates(rate_by_service: &str) -> CountingReceiver {
        let answer: Arc<str> = format!(r#"{{"rate_by_service":{rate_by_service}}}"#).into();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let counts = Arc::new(Counts::default());
        let shared = Arc::clone(&counts);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let counts = Arc::clone(&shared);
                let answer = Arc::clone(&answer);
                std::thread::spawn(move || serve(stream, &counts, &answer));
            }
        });
        CountingReceiver { url, counts }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The totals so far.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }
}

fn serve(stream: TcpStream, counts: &Counts, traces_answer: &str) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
        let (mut len, mut trace_count) = (0usize, None::<u64>);
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap_or(0);
                } else if k.eq_ignore_ascii_case("x-datadog-trace-count") {
                    trace_count = v.trim().parse().ok();
                }
            }
        }
        body.resize(len, 0);
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let answer = if path == "/info" {
            r#"{"endpoints":["/v0.4/traces","/v0.5/traces"],"span_events":true,"config":{}}"#
        } else {
            let (chunks, spans) = if path == "/v0.5/traces" {
                count_v05(&body)
            } else {
                count_v04(&body)
            };
            counts.requests.fetch_add(1, Ordering::Relaxed);
            counts.chunks.fetch_add(chunks, Ordering::Relaxed);
            counts.spans.fetch_add(spans, Ordering::Relaxed);
            counts.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
            if trace_count != Some(chunks) {
                counts.bad_count_header.fetch_add(1, Ordering::Relaxed);
            }
            traces_answer
        };
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if out.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

/// (chunks, spans) of a v0.4 payload: `[[span, ...], ...]`.
pub fn count_v04(body: &[u8]) -> (u64, u64) {
    let mut pos = 0;
    let counts = count_chunks(body, &mut pos);
    assert_eq!(pos, body.len(), "trailing bytes");
    counts
}

/// (chunks, spans) of a v0.5 payload: `[[string, ...], [[span, ...], ...]]`.
pub fn count_v05(body: &[u8]) -> (u64, u64) {
    let mut pos = 0;
    assert_eq!(
        array_len(body, &mut pos),
        2,
        "a v0.5 payload is [strings, traces]"
    );
    let strings = array_len(body, &mut pos);
    for _ in 0..strings {
        skip(body, &mut pos);
    }
    let counts = count_chunks(body, &mut pos);
    assert_eq!(pos, body.len(), "trailing bytes");
    counts
}

/// (chunks, spans) of an array of chunks at `pos`, each an array of spans; moves `pos` past it.
fn count_chunks(body: &[u8], pos: &mut usize) -> (u64, u64) {
    let chunks = array_len(body, pos);
    let mut spans = 0;
    for _ in 0..chunks {
        let n = array_len(body, pos);
        spans += n;
        for _ in 0..n {
            skip(body, pos);
        }
    }
    (chunks, spans)
}

fn be(b: &[u8], pos: &mut usize, n: usize) -> usize {
    let v = b[*pos..*pos + n]
        .iter()
        .fold(0usize, |a, x| (a << 8) | *x as usize);
    *pos += n;
    v
}

fn array_len(b: &[u8], pos: &mut usize) -> u64 {
    let m = b[*pos];
    *pos += 1;
    (match m {
        0x90..=0x9f => (m & 0x0f) as usize,
        0xdc => be(b, pos, 2),
        0xdd => be(b, pos, 4),
        _ => panic!("expected an array, got marker {m:#x}"),
    }) as u64
}

/// Skips one msgpack value: a loop over a count of values still to skip (no recursion), so
/// the receiver stays cheap next to the tracer it measures.
fn skip(b: &[u8], pos: &mut usize) {
    let mut left: usize = 1;
    while left > 0 {
        left -= 1;
        let m = b[*pos];
        *pos += 1;
        match m {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => {}
            0x80..=0x8f => left += 2 * (m & 0x0f) as usize,
            0x90..=0x9f => left += (m & 0x0f) as usize,
            0xa0..=0xbf => *pos += (m & 0x1f) as usize,
            0xc4 | 0xd9 => {
                let n = be(b, pos, 1);
                *pos += n;
            }
            0xc5 | 0xda => {
                let n = be(b, pos, 2);
                *pos += n;
            }
            0xc6 | 0xdb => {
                let n = be(b, pos, 4);
                *pos += n;
            }
            0xcc | 0xd0 => *pos += 1,
            0xcd | 0xd1 => *pos += 2,
            0xca | 0xce | 0xd2 => *pos += 4,
            0xcb | 0xcf | 0xd3 => *pos += 8,
            0xdc => left += be(b, pos, 2),
            0xde => left += 2 * be(b, pos, 2),
            0xdd => left += be(b, pos, 4),
            0xdf => left += 2 * be(b, pos, 4),
            other => panic!("unexpected msgpack marker {other:#x}"),
        }
    }
}

/// The process's peak resident set size in bytes (`VmHWM`), on Linux.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ddtrace_core::encode::{ApiVersion, EncodeOptions, PayloadEncoder};
    use ddtrace_core::{SpanData, TraceId};

    fn chunk(spans: u64) -> Vec<SpanData> {
        (1..=spans)
            .map(|i| SpanData {
                trace_id: TraceId::from_parts(0, 7),
                span_id: i,
                name: "op".into(),
                service: "svc".into(),
                resource: "res".into(),
                ..Default::default()
            })
            .collect()
    }

    /// Both counters read what the tracer's own encoder writes.
    #[test]
    fn counts_v04_and_v05_payloads() {
        for (version, count) in [
            (ApiVersion::V04, count_v04 as fn(&[u8]) -> (u64, u64)),
            (ApiVersion::V05, count_v05),
        ] {
            let mut payload = PayloadEncoder::new(version, EncodeOptions::new());
            payload.push_chunk(&chunk(3));
            payload.push_chunk(&chunk(2));
            assert_eq!(count(&payload.finish()), (2, 5), "{version}");
        }
    }
}
