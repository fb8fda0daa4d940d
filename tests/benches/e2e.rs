//! End-to-end bench: N traces of S spans (10 by default) from T application threads, through the real tracer
//! and agent writer, to an HTTP receiver; reports what it cost the application threads, what
//! arrived, the peak RSS and the CPU the whole process used.
//!
//! ```sh
//! cargo bench -p integration-tests --bench e2e                       # N=200,000 traces, T=2
//! cargo bench -p integration-tests --bench e2e -- --threads 1 --work-us 20
//! cargo bench -p integration-tests --bench e2e -- --agent            # the real test agent, N=2,000
//! ```
//!
//! Options (or environment variables):
//!
//! | option | env | default | meaning |
//! |---|---|---|---|
//! | `--traces N` | `E2E_TRACES` | 200,000 (2,000 with `--agent`) | traces in all, split over the threads |
//! | `--threads T` | `E2E_THREADS` | 2 | application threads |
//! | `--spans S` | `E2E_SPANS` | 10 | spans per trace (a root and S - 1 children) |
//! | `--work-us X` | `E2E_WORK_US` | 0 | busy work (spinning) per trace before it, modelling a real application |
//! | `--agent` | `E2E_AGENT=1` | off | send to the pinned `ddapm-test-agent` instead of the in-process receiver |
//! | `--max-buffered N` | `E2E_MAX_BUFFERED` | the tracer's default | the writer's buffer cap in spans (`max_buffered_spans`) |
//! | `--v05` | `E2E_V05=1` | off | ask for v0.5 payloads (`api_version`); the receiver and the agent list it |
//!
//! Each trace is a root span with 2 tags and, by default, 9 child spans with 1 tag each (the
//! shape of the `agent_burst` test). By default the traces go to [`CountingReceiver`], an in-process HTTP
//! receiver that counts the chunks and spans of each payload from its msgpack headers (the
//! Python test agent cannot take millions of spans); its CPU is part of the process's. It
//! answers with a rate for the service, as an agent that has seen it does, so the traces after
//! its first answer are sampled by the agent's rate.
//!
//! Measured:
//! - **app-thread time per span**: the sum over the application threads of their elapsed time,
//!   divided by the spans produced; with `--work-us`, also without the busy work.
//! - **spans delivered / produced**: what the receiver (or the agent) got, against what the
//!   application made; with the writer's own accounting (`Tracer::stats`) and drops by reason.
//! - **wall time** to produce everything, and until everything was delivered (`shutdown`).
//! - **peak RSS** (`VmHWM`, `/proc/self/status`) and **process CPU** (user + system,
//!   `/proc/self/stat`, in 1/100 s ticks), split by thread (application threads, the writer
//!   thread, the rest: receiver, main) by sampling `/proc/self/task/*/stat` every 20 ms.
//!
//! Without `--bench` (i.e. under `cargo test --benches`, not `cargo bench`), it runs a 1,000-trace
//! smoke run unless `--traces` is given. Linux only (`/proc`).

use std::collections::HashMap;
use std::error::Error;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use ddtrace_core::{Config, ExporterStats, Tracer, WRITER_THREAD_NAME};
use ddtrace_test_agent::{TestAgent, span_count};
use integration_tests::{CountingReceiver, peak_rss_bytes};

/// Spans per trace unless `--spans` says otherwise.
const DEFAULT_SPANS_PER_TRACE: u64 = 10;
/// Linux's `USER_HZ`: the unit of the CPU times in `/proc/*/stat`.
const TICKS_PER_SECOND: u64 = 100;
/// How often the per-thread CPU times are sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);
/// The longest wait for delivery at the end.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(300);
/// Name prefix of the application threads.
const APP_THREAD: &str = "e2e-app-";

type BoxResult<T> = Result<T, Box<dyn Error>>;

/// What to run.
#[derive(Debug)]
struct Options {
    traces: u64,
    threads: u64,
    spans: u64,
    work: Duration,
    agent: bool,
    max_buffered: Option<u64>,
    v05: bool,
}

const USAGE: &str = "usage: e2e [--traces N] [--threads T] [--spans S] [--work-us X] [--agent] [--max-buffered N] [--v05]\n\
    (env: E2E_TRACES, E2E_THREADS, E2E_SPANS, E2E_WORK_US, E2E_AGENT=1, E2E_MAX_BUFFERED, E2E_V05=1)";

// The bench's own options (E2E_*), not tracer configuration.
#[allow(clippy::disallowed_methods)]
fn env_number(name: &str) -> BoxResult<Option<u64>> {
    match std::env::var(name) {
        Ok(v) => Ok(Some(
            v.trim()
                .replace('_', "")
                .parse()
                .map_err(|e| format!("{name}={v}: {e}"))?,
        )),
        Err(_) => Ok(None),
    }
}

fn parse_number(option: &str, value: Option<String>) -> BoxResult<u64> {
    let value = value.ok_or_else(|| format!("{option} needs a value\n{USAGE}"))?;
    Ok(value
        .replace('_', "")
        .parse()
        .map_err(|e| format!("{option} {value}: {e}"))?)
}

// The bench's own options (E2E_*), not tracer configuration.
#[allow(clippy::disallowed_methods)]
fn parse_options() -> BoxResult<Option<Options>> {
    let mut traces = env_number("E2E_TRACES")?;
    let mut threads = env_number("E2E_THREADS")?.unwrap_or(2);
    let mut spans = env_number("E2E_SPANS")?.unwrap_or(DEFAULT_SPANS_PER_TRACE);
    let mut work_us = env_number("E2E_WORK_US")?.unwrap_or(0);
    let mut agent = std::env::var("E2E_AGENT").is_ok_and(|v| v == "1" || v == "true");
    let mut max_buffered = env_number("E2E_MAX_BUFFERED")?;
    let mut v05 = std::env::var("E2E_V05").is_ok_and(|v| v == "1" || v == "true");
    let mut bench_mode = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--traces" | "-n" => traces = Some(parse_number(&arg, args.next())?),
            "--threads" | "-t" => threads = parse_number(&arg, args.next())?,
            "--spans" => spans = parse_number(&arg, args.next())?,
            "--work-us" => work_us = parse_number(&arg, args.next())?,
            "--agent" => agent = true,
            "--max-buffered" => max_buffered = Some(parse_number(&arg, args.next())?),
            "--v05" => v05 = true,
            // `cargo bench` passes `--bench`; `cargo test --benches` does not.
            "--bench" => bench_mode = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}").into()),
        }
    }
    let default_traces = match (bench_mode, agent) {
        (false, _) => 1_000,
        (true, false) => 200_000,
        (true, true) => 2_000,
    };
    let traces = traces.unwrap_or(default_traces);
    if threads == 0 || traces < threads {
        return Err(format!("need at least one thread and one trace per thread\n{USAGE}").into());
    }
    if spans == 0 {
        return Err(format!("need at least one span per trace\n{USAGE}").into());
    }
    Ok(Some(Options {
        traces,
        threads,
        spans,
        work: Duration::from_micros(work_us),
        agent,
        max_buffered,
        v05,
    }))
}

/// Where the traces go.
enum Sink {
    Receiver(CountingReceiver),
    Agent {
        agent: Box<TestAgent>,
        session: ddtrace_test_agent::Session,
    },
}

/// What one application thread measured.
#[derive(Debug, Default, Clone, Copy)]
struct ThreadTimes {
    /// From its first trace to the end of its last.
    elapsed: Duration,
    /// Of which spent creating, tagging and finishing spans (not in the busy work).
    tracing: Duration,
    /// Time on a CPU (`/proc/thread-self/schedstat`), if known: less than `elapsed` when the
    /// thread was preempted (more threads than cores, or a busy machine).
    on_cpu: Option<Duration>,
}

/// Time on a CPU per live thread, as last seen, keyed by thread id: `(name, on-CPU time)`.
type ThreadCpu = Arc<Mutex<HashMap<u64, (String, Duration)>>>;

fn main() -> BoxResult<()> {
    let Some(options) = parse_options()? else {
        return Ok(());
    };
    run(&options)
}

fn run(options: &Options) -> BoxResult<()> {
    let sink = if options.agent {
        let agent = TestAgent::builder()
            .label("e2e-bench")
            .start()
            .map_err(|e| format!("starting the test agent: {e}"))?;
        let session = agent.session()?;
        Sink::Agent {
            agent: Box::new(agent),
            session,
        }
    } else {
        // As an agent that has seen the service answers: every trace after the first
        // response is sampled by the service's rate (keep everything), as in production.
        Sink::Receiver(CountingReceiver::start_with_rates(
            r#"{"service:,env:": 1.0, "service:e2e-svc,env:": 1.0}"#,
        ))
    };
    let mut config = Config::builder().service("e2e-svc");
    config = match &sink {
        Sink::Receiver(receiver) => config.agent_url(receiver.url()),
        Sink::Agent { agent, session } => config
            .agent_url(agent.url())
            .test_session_token(session.token()),
    };
    if options.v05 {
        config = config.api_version(ddtrace_core::encode::ApiVersion::V05);
    }
    if let Some(cap) = options.max_buffered {
        config = config.max_buffered_spans(usize::try_from(cap)?);
    }
    // Not from the environment: the numbers must not depend on stray DD_* variables.
    let tracer = Tracer::new(config.build_from(&HashMap::<&str, &str>::new()));

    let cpu_threads: ThreadCpu = Arc::default();
    let stop_sampler = Arc::new(AtomicBool::new(false));
    let sampler = {
        let cpu_threads = Arc::clone(&cpu_threads);
        let stop = Arc::clone(&stop_sampler);
        std::thread::Builder::new()
            .name("e2e-cpu-sampler".to_owned())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    sample_threads(&cpu_threads);
                    std::thread::sleep(SAMPLE_EVERY);
                }
                sample_threads(&cpu_threads);
            })?
    };
    let agent_cpu_before = match &sink {
        Sink::Agent { agent, .. } => agent.pid().and_then(process_cpu_ticks),
        Sink::Receiver(_) => None,
    };
    let cpu_before = process_cpu_ticks_self()?;
    let load_average = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned());

    let start = Instant::now();
    let times = produce(&tracer, options)?;
    let produced_after = start.elapsed();
    sample_threads(&cpu_threads);
    let all_delivered = tracer.shutdown(SHUTDOWN_TIMEOUT);
    let delivered_after = start.elapsed();
    let agent_cpu = match &sink {
        Sink::Agent { agent, .. } => agent_cpu_before
            .zip(agent.pid().and_then(process_cpu_ticks))
            .map(|(before, after)| after.saturating_sub(before)),
        Sink::Receiver(_) => None,
    };

    let cpu_after = process_cpu_ticks_self()?;
    stop_sampler.store(true, Ordering::Relaxed);
    sampler
        .join()
        .map_err(|_| "the CPU sampler thread panicked")?;
    let stats = tracer.stats();
    let peak_rss = peak_rss_bytes();

    let (delivered_spans, sink_line) = match &sink {
        Sink::Receiver(receiver) => {
            let c = receiver.counts();
            let spans = c.spans.load(Ordering::Relaxed);
            let line = format!(
                "{spans} spans in {} chunks, {} payloads, {:.1} MB; {} bad trace-count headers",
                c.chunks.load(Ordering::Relaxed),
                c.requests.load(Ordering::Relaxed),
                c.bytes.load(Ordering::Relaxed) as f64 / 1e6,
                c.bad_count_header.load(Ordering::Relaxed)
            );
            (spans, line)
        }
        Sink::Agent { session, .. } => {
            let traces = session.traces()?;
            let spans = span_count(&traces) as u64;
            let checks = match session.trace_check_failures()? {
                None => "no trace check failed".to_owned(),
                Some(failures) => format!("TRACE CHECKS FAILED: {}", failures.trim()),
            };
            let line = format!(
                "{spans} spans in {} traces; {checks}",
                traces.as_array().map_or(0, Vec::len)
            );
            (spans, line)
        }
    };

    let report = Report {
        options,
        times: &times,
        produced_after,
        delivered_after,
        all_delivered,
        stats: &stats,
        delivered_spans,
        sink_line,
        peak_rss,
        cpu_ticks: cpu_after.saturating_sub(cpu_before),
        cpu_threads: &lock(&cpu_threads),
        agent_cpu,
        load_average,
    };
    print!("{}", report.render());
    if !all_delivered {
        return Err("the writer did not deliver everything before the shutdown timeout".into());
    }
    Ok(())
}

/// Runs the application threads; returns what each measured.
fn produce(tracer: &Tracer, options: &Options) -> BoxResult<Vec<ThreadTimes>> {
    let barrier = Arc::new(Barrier::new(options.threads as usize));
    let mut handles = Vec::new();
    for t in 0..options.threads {
        // Split N over the threads; the first ones take the remainder.
        let traces =
            options.traces / options.threads + u64::from(t < options.traces % options.threads);
        let tracer = tracer.clone();
        let barrier = Arc::clone(&barrier);
        let (work, spans) = (options.work, options.spans);
        let handle = std::thread::Builder::new()
            .name(format!("{APP_THREAD}{t}"))
            .spawn(move || {
                barrier.wait();
                app_thread(&tracer, t, traces, spans, work)
            })?;
        handles.push(handle);
    }
    handles
        .into_iter()
        .map(|h| {
            h.join()
                .map_err(|_| "an application thread panicked".into())
        })
        .collect()
}

/// One application thread: `traces` traces of `spans` spans, each after `work` of busy work.
fn app_thread(
    tracer: &Tracer,
    thread: u64,
    traces: u64,
    spans: u64,
    work: Duration,
) -> ThreadTimes {
    let cpu_before = thread_cpu("/proc/thread-self/schedstat");
    let first = Instant::now();
    let mut previous = first;
    let mut tracing = Duration::ZERO;
    for i in 0..traces {
        // The application's own work: spin until `work` has passed since the last trace ended.
        let mut traced_from = previous;
        if !work.is_zero() {
            loop {
                traced_from = Instant::now();
                if traced_from - previous >= work {
                    break;
                }
                std::hint::spin_loop();
            }
        }
        {
            let root = tracer.trace("e2e.request");
            root.set_tag("thread", thread as i64);
            root.set_tag("http.url", "/sandwich/make");
            for _ in 1..spans {
                let child = tracer.trace("e2e.step");
                child.set_tag("step", i as i64);
            }
        }
        if !work.is_zero() {
            let now = Instant::now();
            tracing += now - traced_from;
            previous = now;
        }
    }
    let elapsed = first.elapsed();
    let cpu_after = thread_cpu("/proc/thread-self/schedstat");
    ThreadTimes {
        elapsed,
        tracing: if work.is_zero() { elapsed } else { tracing },
        on_cpu: cpu_before
            .zip(cpu_after)
            .map(|(before, after)| after.saturating_sub(before)),
    }
}

/// Everything measured, for the table.
struct Report<'a> {
    options: &'a Options,
    times: &'a [ThreadTimes],
    produced_after: Duration,
    delivered_after: Duration,
    all_delivered: bool,
    stats: &'a ExporterStats,
    delivered_spans: u64,
    sink_line: String,
    peak_rss: Option<u64>,
    cpu_ticks: u64,
    cpu_threads: &'a HashMap<u64, (String, Duration)>,
    agent_cpu: Option<u64>,
    load_average: String,
}

impl Report<'_> {
    fn render(&self) -> String {
        let o = self.options;
        let s = self.stats;
        let produced = o.traces * o.spans;
        let per_span = |d: Duration| d.as_nanos() as f64 / produced as f64;
        let elapsed: Duration = self.times.iter().map(|t| t.elapsed).sum();
        let tracing: Duration = self.times.iter().map(|t| t.tracing).sum();
        let secs = |ticks: u64| ticks as f64 / TICKS_PER_SECOND as f64;

        let mut out = String::new();
        let _ = writeln!(
            out,
            "\ne2e: {} traces x {} spans = {produced} spans from {} thread(s), \
             {} µs of work per trace, to {}\n",
            o.traces,
            o.spans,
            o.threads,
            o.work.as_micros(),
            if o.agent {
                "the pinned ddapm-test-agent"
            } else {
                "the in-process counting receiver"
            }
        );
        let _ = writeln!(
            out,
            "machine: {} CPU(s), load average {} (1 min, at the start: other processes \
             competing for the CPUs inflate the elapsed times, not the on-CPU ones)\n",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            self.load_average
        );
        let _ = writeln!(out, "| metric | value |\n|---|---|");
        let mut row = |name: &str, value: String| {
            let _ = writeln!(out, "| {name} | {value} |");
        };
        let on_cpu = self
            .times
            .iter()
            .map(|t| t.on_cpu)
            .sum::<Option<Duration>>()
            .map_or(String::new(), |d| {
                format!(", {:.0} ns on a CPU", per_span(d))
            });
        if o.work.is_zero() {
            row(
                "app-thread time per span",
                format!("{:.0} ns elapsed{on_cpu}", per_span(elapsed)),
            );
        } else {
            row(
                "app-thread time per span",
                format!(
                    "{:.0} ns elapsed with the work, {:.0} ns of it tracing{on_cpu} (work included)",
                    per_span(elapsed),
                    per_span(tracing)
                ),
            );
        }
        row(
            "spans delivered / produced",
            format!(
                "{} / {produced} ({:.1} %)",
                self.delivered_spans,
                100.0 * self.delivered_spans as f64 / produced as f64
            ),
        );
        row(
            "writer stats (Tracer::stats)",
            format!(
                "received {}, sent {} (payloads: {}), dropped {} (queue_full {}, too_large {}, \
                 rejected {}, send_failed {}, shutdown {}), retries {}, encoded on the \
                 application threads {}",
                s.spans_received,
                s.spans_sent,
                s.payloads_sent,
                s.spans_dropped.total(),
                s.spans_dropped.queue_full,
                s.spans_dropped.too_large,
                s.spans_dropped.rejected,
                s.spans_dropped.send_failed,
                s.spans_dropped.shutdown,
                s.retries,
                s.spans_encoded_on_app_threads
            ),
        );
        row(
            if o.agent {
                "agent accepted"
            } else {
                "receiver counted"
            },
            self.sink_line.clone(),
        );
        row(
            "wall: produced / all delivered",
            format!(
                "{:.3} s / {:.3} s{}",
                self.produced_after.as_secs_f64(),
                self.delivered_after.as_secs_f64(),
                if self.all_delivered {
                    ""
                } else {
                    " (SHUTDOWN TIMED OUT)"
                }
            ),
        );
        row(
            "peak RSS (VmHWM)",
            self.peak_rss.map_or("unknown".to_owned(), |b| {
                format!("{:.1} MB", b as f64 / 1e6)
            }),
        );
        let total_cpu = Duration::from_millis(self.cpu_ticks * 1000 / TICKS_PER_SECOND);
        let app_cpu: Option<Duration> = self.times.iter().map(|t| t.on_cpu).sum();
        let writer_cpu: Duration = self
            .cpu_threads
            .values()
            .filter(|(name, _)| name.starts_with(WRITER_THREAD_NAME))
            .map(|(_, cpu)| *cpu)
            .sum();
        let split = match app_cpu {
            Some(app) => format!(
                "app threads {:.2} s, writer thread {:.2} s, rest ({}) {:.2} s",
                app.as_secs_f64(),
                writer_cpu.as_secs_f64(),
                if o.agent { "main" } else { "receiver, main" },
                total_cpu.saturating_sub(app + writer_cpu).as_secs_f64()
            ),
            None => format!("writer thread {:.2} s", writer_cpu.as_secs_f64()),
        };
        row(
            "process CPU (user+sys)",
            format!(
                "{:.2} s = {:.0} ns per span: {split}",
                total_cpu.as_secs_f64(),
                per_span(total_cpu),
            ),
        );
        if let Some(ticks) = self.agent_cpu {
            row("test agent process CPU", format!("{:.2} s", secs(ticks)));
        }
        out
    }
}

/// Locks, ignoring poisoning (the data are plain numbers).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `(comm, utime + stime)` from the text of a `/proc/.../stat` file.
fn parse_stat(stat: &str) -> Option<(String, u64)> {
    // `pid (comm) state ...`: comm may hold spaces and parentheses; it ends at the last ')'.
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_owned();
    // Fields after comm, from field 3 (state); utime and stime are fields 14 and 15.
    let fields: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((comm, utime + stime))
}

/// This process's CPU ticks so far (every thread, exited ones included).
fn process_cpu_ticks_self() -> BoxResult<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    Ok(parse_stat(&stat).ok_or("cannot parse /proc/self/stat")?.1)
}

/// Another process's CPU ticks so far.
fn process_cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat).map(|(_, ticks)| ticks)
}

/// Time on a CPU of one thread, from its `schedstat` file (first field, in nanoseconds).
fn thread_cpu(schedstat: &str) -> Option<Duration> {
    let text = std::fs::read_to_string(schedstat).ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Records the name and time on a CPU of every live thread of this process.
fn sample_threads(threads: &ThreadCpu) {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return;
    };
    let mut seen = Vec::new();
    for entry in dir.flatten() {
        let Some(tid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u64>().ok())
        else {
            continue;
        };
        let path = entry.path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if let Some(cpu) = path.join("schedstat").to_str().and_then(thread_cpu) {
            seen.push((tid, (name.trim_end().to_owned(), cpu)));
        }
    }
    let mut threads = lock(threads);
    for (tid, sample) in seen {
        threads.insert(tid, sample);
    }
}
