//! The span bench's shapes in a plain loop, for counting instructions (noise-free, unlike time
//! on a shared machine) or profiling. Run each shape for two iteration counts under cachegrind;
//! the difference, divided by the difference in iterations, is the cost of one iteration
//! without the start-up (threads, and the clock calibration, whose length varies: hence the
//! large difference in iterations):
//!
//! ```sh
//! cargo build --release -p ddtrace-core --example span_loop
//! for n in 20000 220000; do
//!   valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=cg.$n \
//!     target/release/examples/span_loop nested $n
//! done
//! # instructions per nested trace: (I refs of cg.220000 - I refs of cg.20000) / 200000
//! ```
//!
//! Arguments: the shape (`single`: one span with 2 string tags and 1 numeric tag; `global`: the
//! same on the process-wide tracer, as `#[trace]` uses it; `nested`: a 10-span trace; `bare`: one
//! span without tags; `manual`: the first shape as a span that is not active
//! (`tracer.span(..).start()`, finished explicitly); `extract`: `tracer.extract` of the
//! propagation bench's headers; `extract-serve`: that, then a span under it; `inject`:
//! `inject_current` into a new `HeaderMap`, a span active), the number of iterations (default
//! 100000) and
//! the number of threads running the loop at once on one tracer (default 1; more shows what
//! the threads cost each other), and the exporter: `channel` (default; the bench's, see
//! `benches/support`) or `local`, which keeps the last chunk's buffer on the thread for the next
//! trace and sends nothing, so what remains is the tracer's own work without the hand-over;
//! and `rates` to have the agent's default rate set (every trace then decided by it, as once a
//! real agent has answered), or `service-rates` to have rates for services too, the bench's
//! among them, as once the agent has seen the service, or `rules` to sample by a rule
//! matching the spans (`benches/support`, `config_with_rules`) (default `no-rates`).
//! Each thread prints its wall time per span, which under cachegrind means nothing.

#![allow(missing_docs)]

use std::cell::RefCell;
use std::hint::black_box;
use std::time::Instant;

use ddtrace_core::{Exporter, SpanData, TraceChunk, Tracer};

#[path = "../benches/support/mod.rs"]
mod support;

fn main() {
    let mut args = std::env::args().skip(1);
    let shape = args.next().unwrap_or_else(|| "single".to_owned());
    let n: u64 = match args.next().map(|a| a.parse()) {
        None => 100_000,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("span_loop: the iteration count is not a number ({e})");
            std::process::exit(2);
        }
    };
    let threads: usize = match args.next().map(|a| a.parse()) {
        None => 1,
        Some(Ok(t)) if t > 0 => t,
        _ => {
            eprintln!("span_loop: the thread count is not a positive number");
            std::process::exit(2);
        }
    };
    let exporter = args.next();
    let (config, rates) = match args.next().as_deref() {
        None | Some("no-rates") => (support::config(), None),
        Some("rates") => (support::config(), Some(support::agent_rates(false))),
        Some("service-rates") => (support::config(), Some(support::agent_rates(true))),
        Some("rules") => (support::config_with_rules(), None),
        Some(other) => {
            eprintln!(
                "span_loop: unknown sampling option {other:?} \
                 (rates, service-rates, rules or no-rates)"
            );
            std::process::exit(2);
        }
    };
    let rates = rates.unwrap_or_default();
    let tracer = match exporter.as_deref() {
        None | Some("channel") => support::tracer_with(config, rates),
        Some("local") => Tracer::with_exporter_and_rates(config, LocalExporter, rates),
        Some(other) => {
            eprintln!("span_loop: unknown exporter {other:?} (channel or local)");
            std::process::exit(2);
        }
    };
    // The other threads run the same loop on the same tracer, at the same time.
    let others: Vec<_> = (1..threads)
        .map(|_| {
            let (tracer, shape) = (tracer.clone(), shape.clone());
            std::thread::spawn(move || run(&tracer, &shape, n))
        })
        .collect();
    run(&tracer, &shape, n);
    for other in others {
        let _ = other.join();
    }
}

thread_local! {
    /// The buffer of the last chunk this thread exported (`LocalExporter`).
    static LAST: RefCell<Option<Vec<SpanData>>> = const { RefCell::new(None) };
}

/// Keeps the last chunk's buffer on its thread for the next trace, and sends nothing.
struct LocalExporter;

impl Exporter for LocalExporter {
    fn export(&self, chunk: TraceChunk) {
        LAST.with_borrow_mut(|last| *last = Some(chunk.spans));
    }

    fn reuse_buffer(&self) -> Option<Vec<SpanData>> {
        LAST.with_borrow_mut(Option::take)
    }
}

/// Runs `shape` `n` times on this thread; prints the time per span.
fn run(tracer: &Tracer, shape: &str, n: u64) {
    let started = Instant::now();
    let spans_per_iteration = match shape {
        "single" => {
            for _ in 0..n {
                let span = tracer.trace(black_box("http.request"));
                span.set_tag("http.method", "GET");
                span.set_tag("http.route", "/users/:id");
                span.set_tag("http.status_code", 200);
            }
            1
        }
        "global" => {
            // The process-wide tracer, as `#[trace]` and `ddtrace_core::trace` use it.
            let _ = ddtrace_core::set_global_tracer(tracer.clone());
            for _ in 0..n {
                let span = ddtrace_core::trace(black_box("http.request"));
                span.set_tag("http.method", "GET");
                span.set_tag("http.route", "/users/:id");
                span.set_tag("http.status_code", 200);
            }
            1
        }
        "manual" => {
            // A span that is not active, which any thread may finish.
            for _ in 0..n {
                let mut span = tracer.span(black_box("http.request")).start();
                span.set_tag("http.method", "GET");
                span.set_tag("http.route", "/users/:id");
                span.set_tag("http.status_code", 200);
                span.finish();
            }
            1
        }
        "bare" => {
            for _ in 0..n {
                let _span = tracer.trace(black_box("http.request"));
            }
            1
        }
        "nested" => {
            for _ in 0..n {
                let _root = tracer.trace("request");
                for _ in 0..3 {
                    let _a = tracer.trace("service.call");
                    let _b = tracer.trace("db.query");
                    let _c = tracer.trace("cache.get");
                }
            }
            10
        }
        "extract" => {
            let headers = support::incoming();
            for _ in 0..n {
                black_box(tracer.extract(black_box(&headers)));
            }
            1
        }
        "extract-serve" => {
            let headers = support::incoming();
            for _ in 0..n {
                let parent = tracer.extract(black_box(&headers));
                let mut span = tracer.span("http.request");
                if let Some(parent) = &parent {
                    span = span.child_of(parent);
                }
                let _span = span.enter();
            }
            1
        }
        "inject" => {
            let _active = tracer.trace("http.request");
            for _ in 0..n {
                let mut out = http::HeaderMap::new();
                tracer.inject_current(&mut out);
                black_box(out);
            }
            1
        }
        other => {
            eprintln!(
                "span_loop: unknown shape {other:?} \
                 (single, global, manual, bare, nested, extract, extract-serve or inject)"
            );
            std::process::exit(2);
        }
    };
    let per_span = started.elapsed().as_nanos() as f64 / (n * spans_per_iteration) as f64;
    println!("{shape}: {n} iterations, {per_span:.1} ns a span");
}
