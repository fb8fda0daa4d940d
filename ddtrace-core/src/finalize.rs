//! Finalization: the standard tags the reference tracer puts on every chunk, added off the
//! application thread (by the writer thread, or by the [`Collector`](crate::Collector)).
//!
//! | tag | where | when |
//! |---|---|---|
//! | global tags (`DD_TAGS`, [`Tracer::set_tag`](crate::Tracer::set_tag)) | every span | unless the span set the same key |
//! | `env` | every span | `DD_ENV` set |
//! | `version` | spans of the global service | `DD_VERSION` set |
//! | `_dd.base_service` | spans of another service | always |
//! | `_dd.origin` | every span | the trace has an origin |
//! | `_dd.top_level` (metric 1) | local root; spans whose service differs from their parent's | always |
//! | `language`, `runtime-id`, `process_id` | local root | always |
//! | `_dd.agent_psr` / `_dd.rule_psr` / `_dd.limit_psr` | local root | the decision used them |
//! | `_sampling_priority_v1` (metric) | chunk root | always |
//! | `_dd.span_sampling.*` (metrics) | spans a single-span rule keeps | the trace is dropped (priority ≤ 0) |
//! | `_dd.p.*` propagated tags, `_dd.p.dm`, `_dd.p.tid` | chunk root | when known / 128-bit id |
//!
//! The chunk root is the local root when it is in the chunk, else the first span whose parent is
//! not in the chunk; finalization moves it to the front.

use std::cell::RefCell;
use std::sync::OnceLock;

use crate::config::Config;
use crate::exporter::ChunkInfo;
use crate::intern::{intern, intern_or_own};
use crate::sampler::{SpanSampler, span_rules_clock};
use crate::span_data::{SpanData, Str, TagMap};
use crate::tag::{Stored, TagValue};
use crate::versioned::{Cache, Versioned};

/// Metric key of the sampling priority.
pub const SAMPLING_PRIORITY_KEY: &str = "_sampling_priority_v1";
/// Metric key marking top-level spans.
pub const TOP_LEVEL_KEY: &str = "_dd.top_level";
/// Meta key of the decision maker.
pub const DECISION_MAKER_KEY: &str = "_dd.p.dm";
/// Meta key of the high 64 bits of a 128-bit trace id.
pub const TRACE_ID_HIGH_KEY: &str = "_dd.p.tid";
/// Meta key of the origin.
pub const ORIGIN_KEY: &str = "_dd.origin";
/// Meta key of the global service on spans of another service.
pub const BASE_SERVICE_KEY: &str = "_dd.base_service";

/// The per-process runtime id (a random UUID v4), as on every Datadog tracer's local roots.
pub fn runtime_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let hi = crate::id::span_id();
        let lo = crate::id::span_id();
        // Version 4, variant 10xx.
        let hi = (hi & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
        let lo = (lo & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            hi >> 32,
            (hi >> 16) & 0xFFFF,
            hi & 0xFFFF,
            lo >> 48,
            lo & 0xFFFF_FFFF_FFFF
        )
    })
}

/// The service-level facts finalization needs, shared by a tracer and its chunks.
///
/// Every string it adds to spans is interned once, here, so finalizing a chunk borrows them
/// (`Cow::Borrowed`) instead of allocating a copy per span.
pub struct Finalizer {
    service: &'static str,
    env: Option<Str>,
    version: Option<Str>,
    base_service: Str,
    process_id: f64,
    global_tags: Versioned<GlobalTags>,
    /// Single-span sampling of dropped traces (`DD_SPAN_SAMPLING_RULES`).
    span_sampler: SpanSampler,
}

thread_local! {
    /// The global tags this thread last read: finalizing on an application thread (overload)
    /// then takes no lock and touches no shared counter.
    static GLOBAL_TAGS: Cache<GlobalTags> = const { RefCell::new(None) };
}

/// The global tags as set, and as they land on spans (keys and string values interned).
#[derive(Clone, Default)]
struct GlobalTags {
    set: TagMap<TagValue>,
    stored: Vec<(Str, GlobalValue)>,
}

#[derive(Clone)]
enum GlobalValue {
    Meta(Str),
    Metric(f64),
}

impl GlobalTags {
    fn new(set: TagMap<TagValue>) -> Self {
        let stored = set
            .iter()
            .filter_map(|(k, v)| {
                let value = match v.clone().into_stored() {
                    Stored::Meta(s) => GlobalValue::Meta(intern_or_own(&s)),
                    Stored::Metric(m) => GlobalValue::Metric(m),
                    Stored::Rejected(_) => return None,
                };
                Some((intern_or_own(k), value))
            })
            .collect();
        GlobalTags { set, stored }
    }
}

impl Finalizer {
    pub(crate) fn new(config: &Config) -> Self {
        let service = intern(&config.service);
        Finalizer {
            service,
            env: config.env.as_deref().map(|e| Str::Borrowed(intern(e))),
            version: config.version.as_deref().map(|v| Str::Borrowed(intern(v))),
            base_service: Str::Borrowed(service),
            process_id: f64::from(std::process::id()),
            global_tags: Versioned::new(GlobalTags::new(config.global_tags.clone())),
            span_sampler: SpanSampler::new(&config.span_sampling_rules, span_rules_clock()),
        }
    }

    /// Adds or replaces a global tag (applied to every span exported from now on).
    pub(crate) fn set_global_tag(&self, key: Str, value: TagValue) {
        self.global_tags.update(|tags| {
            let mut set = tags.set.clone();
            set.insert(key, value);
            (GlobalTags::new(set), ())
        });
    }
}

/// Finalizes one chunk (see the module doc); returns the spans, chunk root first.
pub(crate) fn finalize_chunk(
    mut spans: Vec<SpanData>,
    info: &ChunkInfo,
    f: &Finalizer,
) -> Vec<SpanData> {
    let root_idx = finalize_in_place(&mut spans, info, f);
    if root_idx > 0 {
        // The root first, the others in their original order.
        spans[..=root_idx].rotate_right(1);
    }
    spans
}

/// Finalizes one chunk without moving its spans; returns the index of the chunk root (what
/// the encoder writes first).
pub(crate) fn finalize_in_place(spans: &mut [SpanData], info: &ChunkInfo, f: &Finalizer) -> usize {
    if spans.is_empty() {
        return 0;
    }
    let root_idx = chunk_root_index(spans, info.local_root_id);
    mark_top_level(spans, info.local_root_id);
    f.global_tags
        .with(&GLOBAL_TAGS, |global| tag_spans(spans, global, info, f));
    if info.priority <= 0 && !f.span_sampler.is_empty() {
        f.span_sampler.sample(info.trace_id, spans);
    }
    let root = &mut spans[root_idx];
    root.metrics
        .insert(SAMPLING_PRIORITY_KEY, f64::from(info.priority));
    if let Some(tags) = &info.propagation_tags {
        for (k, v) in tags.iter() {
            root.meta.insert(Str::Owned(k.to_owned()), v.clone());
        }
    }
    if let Some(m) = info.mechanism {
        root.meta
            .insert(DECISION_MAKER_KEY, crate::propagation::mechanism_value(m));
    }
    if info.trace_id.high() != 0 {
        root.meta.insert(
            TRACE_ID_HIGH_KEY,
            Str::Owned(format!("{:016x}", info.trace_id.high())),
        );
    }
    root_idx
}

/// Decides `_dd.top_level` from the services the spans finished with, as the reference does
/// at the end of a trace: a span whose parent is in the chunk is top-level exactly when their
/// services differ, so a `set_service` after start (on the span or on its parent) counts. A
/// span whose parent is elsewhere (an earlier partial flush) keeps what its start decided; the
/// local root is always top-level (see [`tag_spans`]).
fn mark_top_level(spans: &mut [SpanData], local_root_id: u64) {
    if spans.len() < 2 {
        return;
    }
    let mut by_id: Vec<(u64, usize)> = spans
        .iter()
        .enumerate()
        .map(|(i, s)| (s.span_id, i))
        .collect();
    by_id.sort_unstable_by_key(|&(id, _)| id);
    for i in 0..spans.len() {
        let span = &spans[i];
        if span.span_id == local_root_id {
            continue;
        }
        let Ok(at) = by_id.binary_search_by_key(&span.parent_id, |&(id, _)| id) else {
            continue;
        };
        let differs = spans[by_id[at].1].service != span.service;
        let metrics = &mut spans[i].metrics;
        if differs {
            metrics.insert(TOP_LEVEL_KEY, 1.0);
        } else {
            metrics.remove(TOP_LEVEL_KEY);
        }
    }
}

/// Adds the per-span standard tags (global tags, `env`, `version` or `_dd.base_service`,
/// `_dd.origin`, and the local root's process and sampling-rate tags).
fn tag_spans(spans: &mut [SpanData], global: &GlobalTags, info: &ChunkInfo, f: &Finalizer) {
    for span in spans.iter_mut() {
        for (k, v) in &global.stored {
            match v {
                GlobalValue::Meta(s) => {
                    if !span.metrics.contains_key(k) {
                        span.meta.insert_if_absent(k.clone(), s.clone());
                    }
                }
                GlobalValue::Metric(m) => {
                    if !span.meta.contains_key(k) {
                        span.metrics.insert_if_absent(k.clone(), *m);
                    }
                }
            }
        }
        if let Some(env) = &f.env {
            span.meta.insert_if_absent("env", env.clone());
        }
        if span.service == f.service {
            if let Some(version) = &f.version {
                span.meta.insert_if_absent("version", version.clone());
            }
        } else {
            span.meta
                .insert_if_absent(BASE_SERVICE_KEY, f.base_service.clone());
        }
        if let Some(origin) = &info.origin {
            span.meta.insert_if_absent(ORIGIN_KEY, origin.clone());
        }
        if span.span_id == info.local_root_id {
            span.metrics.insert(TOP_LEVEL_KEY, 1.0);
            span.meta
                .insert_if_absent("language", Str::Borrowed("rust"));
            span.meta.insert("runtime-id", Str::Borrowed(runtime_id()));
            span.metrics.insert("process_id", f.process_id);
            if let Some(r) = info.rates.agent {
                span.metrics.insert("_dd.agent_psr", r);
            }
            if let Some(r) = info.rates.rule {
                span.metrics.insert("_dd.rule_psr", r);
            }
            if let Some(r) = info.rates.limit {
                span.metrics.insert("_dd.limit_psr", r);
            }
        }
    }
}

/// The local root if present, else the first span whose parent is not in the chunk.
fn chunk_root_index(spans: &[SpanData], local_root_id: u64) -> usize {
    if let Some(i) = spans.iter().position(|s| s.span_id == local_root_id) {
        return i;
    }
    spans
        .iter()
        .position(|s| !spans.iter().any(|p| p.span_id == s.parent_id))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span_data::TraceId;

    fn span(id: u64, parent: u64, service: &'static str) -> SpanData {
        SpanData {
            trace_id: TraceId::from_parts(0x6543_2100_0000_0000, 7),
            span_id: id,
            parent_id: parent,
            name: "op".into(),
            service: service.into(),
            resource: "op".into(),
            ..SpanData::default()
        }
    }

    fn info(root: u64) -> ChunkInfo {
        ChunkInfo::kept(TraceId::from_parts(0x6543_2100_0000_0000, 7), root)
    }

    fn finalizer() -> Finalizer {
        let config = Config::builder()
            .service("svc")
            .env("prod")
            .version("1.2")
            .global_tag("team", "k")
            .global_tag("shard", 3)
            .build_from(&std::collections::HashMap::<&str, &str>::new());
        Finalizer::new(&config)
    }

    #[test]
    fn local_root_gets_the_process_and_sampling_tags() {
        let out = finalize_chunk(
            vec![span(2, 1, "svc"), span(1, 0, "svc")],
            &info(1),
            &finalizer(),
        );
        let root = &out[0];
        assert_eq!(root.span_id, 1, "chunk root first");
        assert_eq!(root.meta.get("language").map(|s| &**s), Some("rust"));
        assert_eq!(
            root.meta.get("runtime-id").map(|s| s.len()),
            Some(36),
            "uuid"
        );
        assert_eq!(
            root.metrics.get("process_id"),
            Some(&f64::from(std::process::id()))
        );
        assert_eq!(root.metrics.get(TOP_LEVEL_KEY), Some(&1.0));
        assert_eq!(root.metrics.get(SAMPLING_PRIORITY_KEY), Some(&1.0));
        assert_eq!(root.meta.get(DECISION_MAKER_KEY).map(|s| &**s), Some("-0"));
        assert_eq!(
            root.meta.get(TRACE_ID_HIGH_KEY).map(|s| &**s),
            Some("6543210000000000")
        );
        let child = &out[1];
        assert_eq!(child.metrics.get(TOP_LEVEL_KEY), None);
        assert_eq!(child.meta.get("language"), None);
        assert_eq!(child.metrics.get(SAMPLING_PRIORITY_KEY), None);
        for s in &out {
            assert_eq!(s.meta.get("env").map(|s| &**s), Some("prod"));
            assert_eq!(s.meta.get("version").map(|s| &**s), Some("1.2"));
            assert_eq!(s.meta.get("team").map(|s| &**s), Some("k"));
            assert_eq!(s.metrics.get("shard"), Some(&3.0));
        }
    }

    #[test]
    fn other_services_get_base_service_not_version() {
        let out = finalize_chunk(
            vec![span(2, 1, "other"), span(1, 0, "svc")],
            &info(1),
            &finalizer(),
        );
        let other = out.iter().find(|s| s.span_id == 2).unwrap();
        assert_eq!(other.meta.get("version"), None);
        assert_eq!(other.meta.get(BASE_SERVICE_KEY).map(|s| &**s), Some("svc"));
        let root = out.iter().find(|s| s.span_id == 1).unwrap();
        assert_eq!(root.meta.get(BASE_SERVICE_KEY), None);
    }

    #[test]
    fn user_tags_win_over_global_tags() {
        let mut s = span(1, 0, "svc");
        s.meta.insert("team", "mine".into());
        s.meta.insert("env", "staging".into());
        let out = finalize_chunk(vec![s], &info(1), &finalizer());
        assert_eq!(out[0].meta.get("team").map(|s| &**s), Some("mine"));
        assert_eq!(out[0].meta.get("env").map(|s| &**s), Some("staging"));
    }

    #[test]
    fn in_place_finalization_tags_the_same_spans_without_moving_them() {
        let spans = vec![span(2, 1, "svc"), span(3, 1, "other"), span(1, 0, "svc")];
        let moved = finalize_chunk(spans.clone(), &info(1), &finalizer());
        let mut in_place = spans;
        let root = finalize_in_place(&mut in_place, &info(1), &finalizer());
        assert_eq!(root, 2);
        let ids: Vec<u64> = in_place.iter().map(|s| s.span_id).collect();
        assert_eq!(ids, [2, 3, 1], "nothing moved");
        let ids: Vec<u64> = moved.iter().map(|s| s.span_id).collect();
        assert_eq!(ids, [1, 2, 3], "root first, the others in order");
        in_place.rotate_right(1);
        assert_eq!(in_place, moved);
    }

    #[test]
    fn a_global_tag_set_later_reaches_a_thread_that_cached_the_old_ones() {
        let a = finalizer();
        let b = finalizer();
        let out = finalize_chunk(vec![span(1, 0, "svc")], &info(1), &a);
        assert_eq!(out[0].meta.get("team").map(|s| &**s), Some("k"));
        a.set_global_tag("team".into(), TagValue::from("new"));
        b.set_global_tag("region".into(), TagValue::from("eu"));
        let out = finalize_chunk(vec![span(1, 0, "svc")], &info(1), &a);
        assert_eq!(out[0].meta.get("team").map(|s| &**s), Some("new"));
        assert_eq!(out[0].meta.get("region"), None, "another finalizer's tags");
        let out = finalize_chunk(vec![span(1, 0, "svc")], &info(1), &b);
        assert_eq!(out[0].meta.get("team").map(|s| &**s), Some("k"));
        assert_eq!(out[0].meta.get("region").map(|s| &**s), Some("eu"));
    }

    #[test]
    fn partial_chunk_root_is_the_topmost_span() {
        // The local root (1) is not in this chunk: 3's parent 2 is, 2's parent 1 is not.
        let out = finalize_chunk(
            vec![span(3, 2, "svc"), span(2, 1, "svc")],
            &info(1),
            &finalizer(),
        );
        assert_eq!(out[0].span_id, 2);
        assert_eq!(out[0].metrics.get(SAMPLING_PRIORITY_KEY), Some(&1.0));
        assert_eq!(out[0].meta.get("language"), None);
    }

    #[test]
    fn runtime_id_is_a_stable_uuid_v4() {
        let id = runtime_id();
        assert_eq!(id, runtime_id());
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"));
    }
}
