//! The JSON-lines writer (`DD_TRACE_OUTPUT=file:/path`): one line per trace chunk, written off
//! the application thread, everything delivered at shutdown, exact counters.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test helpers may fail loudly

use std::collections::HashMap;
use std::time::Duration;

use ddtrace_core::{Config, DropCounts, TraceOutput, Tracer};

fn temp_path(name: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::env::temp_dir().join(format!(
        "ddtrace-{name}-{}-{nanos}.jsonl",
        std::process::id()
    ))
}

#[test]
fn writes_one_line_per_chunk_to_a_file() {
    let path = temp_path("json-writer");
    let env: HashMap<&str, &str> = HashMap::new();
    let config = Config::builder()
        .service("json-svc")
        .output(TraceOutput::File(path.clone()))
        .build_from(&env);
    let tracer = Tracer::new(config);
    {
        let _root = tracer.trace("root");
        let _child = tracer.trace("child");
    }
    {
        let _other = tracer.trace("other");
    }
    assert!(tracer.flush(Duration::from_secs(10)));
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    let names: Vec<&str> = first
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["root", "child"]);
    assert_eq!(first[0]["service"], "json-svc");
    assert_eq!(first[0]["meta"]["language"], "rust");
    assert_eq!(first[1]["parent_id"], first[0]["span_id"]);
    let second: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(second[0]["name"], "other");

    {
        let _late = tracer.trace("before-shutdown");
    }
    assert!(tracer.shutdown(Duration::from_secs(10)));
    {
        let _after = tracer.trace("after-shutdown");
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 3);
    let s = tracer.stats();
    assert_eq!((s.traces_received, s.spans_received), (4, 5));
    assert_eq!((s.traces_sent, s.spans_sent), (3, 4));
    assert_eq!(s.bytes_sent, text.len() as u64);
    let shutdown = DropCounts {
        shutdown: 1,
        ..DropCounts::default()
    };
    assert_eq!(s.traces_dropped, shutdown);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn an_unwritable_file_counts_drops() {
    let env: HashMap<&str, &str> = HashMap::new();
    let config = Config::builder()
        .output(TraceOutput::File(
            "/nonexistent-dir/ddtrace/traces.jsonl".into(),
        ))
        .build_from(&env);
    let tracer = Tracer::new(config);
    {
        let _span = tracer.trace("lost");
    }
    assert!(
        !tracer.flush(Duration::from_secs(10)),
        "nothing was written"
    );
    let s = tracer.stats();
    assert_eq!(s.traces_dropped.send_failed, 1);
    assert_eq!(s.traces_received, s.traces_sent + s.traces_dropped.total());
}
