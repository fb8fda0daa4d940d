//! The OpenTracing span bench's shapes (`benches/span.rs`) in a plain loop, for counting
//! instructions with cachegrind, which do not change with the machine's load as times do. Run
//! each shape for two iteration counts; the difference, divided by the difference in
//! iterations, is the cost of one iteration without the start-up:
//!
//! ```sh
//! cargo build --release -p ddtrace-opentracer --example ot_span_loop
//! for n in 20000 220000; do
//!   valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=cg.$n \
//!     target/release/examples/ot_span_loop start $n
//! done
//! # instructions per span: (I refs of cg.220000 - I refs of cg.20000) / 200000
//! ```
//!
//! Arguments: the shape (`start`: `start_span` with 2 string tags and 1 numeric tag, then
//! `finish`; `global`: the same through `global_tracer()`; `nested`: a 10-span trace whose spans
//! are activated) and the number of iterations (default 100000). The exporter is ddtrace-core's
//! bench exporter, as in the bench.

#![allow(missing_docs)]

use ddtrace_opentracer::{Tracer, set_global_tracer};
use opentracing_api::global_tracer;

#[path = "../benches/shapes/mod.rs"]
mod shapes;
#[path = "../../ddtrace-core/benches/support/mod.rs"]
mod support;

fn main() {
    let mut args = std::env::args().skip(1);
    let shape = args.next().unwrap_or_else(|| "start".to_owned());
    let n: u64 = match args.next().map(|a| a.parse()) {
        None => 100_000,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("ot_span_loop: the iteration count is not a number ({e})");
            std::process::exit(2);
        }
    };
    let tracer = Tracer::from_core(support::tracer());
    set_global_tracer(tracer.clone());
    match shape.as_str() {
        "start" => (0..n).for_each(|_| shapes::one_span(&tracer)),
        "global" => (0..n).for_each(|_| shapes::one_span(&global_tracer())),
        "nested" => (0..n).for_each(|_| shapes::nested_activated(&tracer)),
        other => {
            eprintln!("ot_span_loop: unknown shape {other:?} (start, global or nested)");
            std::process::exit(2);
        }
    }
}
