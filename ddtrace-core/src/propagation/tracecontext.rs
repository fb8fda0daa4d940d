//! The `tracecontext` style: W3C `traceparent` and `tracestate`.
//!
//! `traceparent: <version>-<32 hex trace>-<16 hex parent>-<2 hex flags>`, lowercase; version
//! `ff`, zero ids and extra fields on version `00` reject it (later versions may carry extra
//! fields). `tracestate` keeps our `dd=` member first and up to 31 other members; its `dd=`
//! value is `s:<priority>;o:<origin>;p:<16 hex span id>;t.dm:-4;t.<tag>:<value>...` (at most
//! 256 characters; in values `,` `;` `~` and non-printables become `_` and `=` becomes `~`; in
//! keys `,` space `=` and non-printables become `_`).
//!
//! The sampled flag and `s:` are reconciled as the reference does: flag 1 with `s ≤ 0` (or no
//! `s`) → 1; flag 0 with `s > 0` (or no `s`) → 0; otherwise `s`. Exception (reference): with
//! origin `rum` and no (or zero) `s`, the priority is `s` (none or 0), whatever the flag.

use smallvec::SmallVec;

use crate::span_data::{Str, TagMap, TraceId};

use super::datadog::is_valid_decision_maker;
use super::stats::{MalformedReason, record, shown};
use super::{
    DECISION_MAKER_KEY, Extractor, HeaderKey, InjectContext, Injector, PropagationStyle,
    StyleContext, TID_KEY, TRACESTATE_DD_MAX_CHARS, TRACESTATE_MAX_OTHER_MEMBERS, built, exact,
    lower_hex, propagated_tag, push_decimal, push_hex, split_byte, split_once_byte,
};

static TRACEPARENT: HeaderKey = HeaderKey::new("traceparent");
static TRACESTATE: HeaderKey = HeaderKey::new("tracestate");
const STYLE: PropagationStyle = PropagationStyle::TraceContext;

/// A parsed `traceparent`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Traceparent {
    pub trace_id: TraceId,
    pub span_id: u64,
    pub sampled: bool,
}

/// Parses a `traceparent` value (already trimmed).
pub(crate) fn parse_traceparent(tp: &str) -> Result<Traceparent, &'static str> {
    // The usual form, version 00 and four fields, read at their places.
    if tp.len() == 55
        && let (Some(b"00-"), Some(b'-'), Some(b'-')) = (
            tp.as_bytes().get(..3),
            tp.as_bytes().get(35),
            tp.as_bytes().get(52),
        )
        && let (Some(trace), Some(span), Some(flags)) =
            (tp.get(3..35), tp.get(36..52), tp.get(53..))
        && let (Some(trace_id), Some(span_id), Some(flags)) = (
            lower_hex(trace, 32),
            lower_hex(span, 16),
            lower_hex(flags, 2),
        )
        && trace_id as u64 != 0
        && span_id != 0
    {
        return Ok(Traceparent {
            trace_id: TraceId(trace_id),
            span_id: span_id as u64,
            sampled: flags & 1 == 1,
        });
    }
    let mut fields = tp.splitn(5, '-');
    let version = fields.next().unwrap_or("");
    let trace = fields.next().unwrap_or("");
    let span = fields.next().unwrap_or("");
    let flags = fields.next().unwrap_or("");
    let extra = fields.next();
    let (Some(version), Some(trace_id), Some(span_id), Some(flags)) = (
        lower_hex(version, 2),
        lower_hex(trace, 32),
        lower_hex(span, 16),
        lower_hex(flags, 2),
    ) else {
        return Err("expected <2 hex>-<32 hex>-<16 hex>-<2 hex>, lowercase");
    };
    if version == 0xff {
        return Err("version ff is invalid");
    }
    match extra {
        Some(_) if version == 0 => return Err("version 00 has exactly 4 fields"),
        Some("") => return Err("an empty extra field"),
        _ => {}
    }
    // Sixteen and two hex digits fit their types.
    let (span_id, flags) = (span_id as u64, flags as u8);
    if trace_id == 0 {
        return Err("all-zero trace id");
    }
    if trace_id as u64 == 0 {
        // Valid W3C, but Datadog sends the low 64 bits as the trace id, and 0 is no trace.
        return Err("the low 64 bits of the trace id are zero (Datadog cannot send it)");
    }
    if span_id == 0 {
        return Err("all-zero parent id");
    }
    Ok(Traceparent {
        trace_id: TraceId(trace_id),
        span_id,
        sampled: flags & 1 == 1,
    })
}

/// The members of a tracestate after the limits: the last `dd=` member first, then up to 31
/// others in order. Members are trimmed; empty ones dropped.
fn limited_members(tracestate: &str) -> Members<'_> {
    let mut members = Members::new();
    let mut dd = None;
    for m in split_byte(tracestate, b',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
    {
        if m.starts_with("dd=") {
            dd = Some(m);
        } else if members.len() < TRACESTATE_MAX_OTHER_MEMBERS {
            members.push(m);
        }
    }
    if let Some(dd) = dd {
        members.insert(0, dd);
    }
    members
}

/// A tracestate's members: usually a few, kept on the stack.
type Members<'a> = SmallVec<[&'a str; 8]>;

/// Whether `members` joined by commas are `raw`, without joining them.
fn joins_to(members: &[&str], raw: &str) -> bool {
    let mut rest = raw;
    for (i, m) in members.iter().enumerate() {
        if i > 0 {
            let Some(r) = rest.strip_prefix(',') else {
                return false;
            };
            rest = r;
        }
        let Some(r) = rest.strip_prefix(m) else {
            return false;
        };
        rest = r;
    }
    rest.is_empty()
}

/// What the `dd=` member carries.
#[derive(Debug, Default, PartialEq)]
struct DdMember {
    priority: Option<i32>,
    origin: Option<String>,
    /// The `p:` value (16 lowercase hex digits).
    last_parent_id: Option<u64>,
    tags: TagMap<Str>,
}

fn decode_value(v: &str) -> String {
    v.replace('~', "=")
}

/// Parses the value of the `dd=` member.
fn parse_dd_member(value: &str) -> Result<DdMember, String> {
    let mut dd = DdMember::default();
    for item in split_byte(value, b';') {
        let Some((k, v)) = split_once_byte(item, b':') else {
            return Err(format!("the item {item:?} has no ':'"));
        };
        match k {
            "s" => {
                dd.priority = Some(
                    v.parse::<i32>()
                        .map_err(|_| format!("s:{v:?} is not an integer"))?,
                );
            }
            "o" => dd.origin = Some(decode_value(v)).filter(|o| !o.is_empty()),
            "p" => {
                if let Some(p) = lower_hex(v, 16) {
                    dd.last_parent_id = Some(p as u64);
                } else {
                    crate::log::debug!(
                        "propagation: tracecontext: ignoring p:{} (not 16 lowercase hex digits)",
                        shown(v)
                    );
                }
            }
            _ => {
                // `t.tid` is left out: the trace id comes from traceparent, whole.
                if let Some(suffix) = k.strip_prefix("t.")
                    && suffix != "tid"
                {
                    let (key, value) = match (suffix, v.contains('~')) {
                        ("dm", false) => propagated_tag(DECISION_MAKER_KEY, v),
                        (_, decode) => (
                            Str::Owned(format!("_dd.p.{suffix}")),
                            Str::Owned(if decode {
                                decode_value(v)
                            } else {
                                v.to_owned()
                            }),
                        ),
                    };
                    dd.tags.insert(key, value);
                }
            }
        }
    }
    Ok(dd)
}

/// The reference's reconciliation of the sampled flag and `s:`.
fn reconcile(sampled: bool, s: Option<i32>, origin: Option<&str>) -> Option<i32> {
    let s_unset = matches!(s, None | Some(0));
    let from_rum_without_priority = s_unset && origin == Some("rum");
    if from_rum_without_priority {
        return s;
    }
    match (sampled, s) {
        (false, None) => Some(0),
        (false, Some(p)) if p >= 0 => Some(0),
        (true, None) => Some(1),
        (true, Some(p)) if p <= 0 => Some(1),
        (_, s) => s,
    }
}

/// Extracts a context from `traceparent` / `tracestate`.
pub(crate) fn extract(carrier: &dyn Extractor) -> Option<StyleContext> {
    let tp = carrier.get_key(&TRACEPARENT)?.trim();
    let parent = match parse_traceparent(tp) {
        Ok(p) => p,
        Err(why) => {
            record(
                STYLE,
                MalformedReason::InvalidTraceparent,
                format_args!("{TRACEPARENT} {}: {why}", shown(tp)),
            );
            return None;
        }
    };
    let mut ctx = StyleContext {
        trace_id: parent.trace_id,
        span_id: parent.span_id,
        sampling_priority: Some(i32::from(parent.sampled)),
        ..StyleContext::default()
    };
    let Some(raw_ts) = carrier
        .get_list(&TRACESTATE)
        .filter(|t| !t.trim().is_empty())
    else {
        return Some(ctx);
    };
    let raw_ts: &str = &raw_ts;
    let members = limited_members(raw_ts);
    // Usually the header is already what the limits keep: then it is kept as it came.
    let ts = if joins_to(&members, raw_ts) {
        raw_ts.to_owned()
    } else {
        members.join(",")
    };
    if ts.bytes().any(|b| !(0x20..=0x7e).contains(&b)) {
        record(
            STYLE,
            MalformedReason::InvalidTracestate,
            format_args!(
                "{TRACESTATE} {} has non-printable characters; ignored",
                shown(raw_ts)
            ),
        );
        return Some(ctx);
    }
    ctx.tracestate = Some(ts).filter(|t| !t.is_empty());
    let Some(dd_value) = members.first().and_then(|m| m.strip_prefix("dd=")) else {
        return Some(ctx);
    };
    let dd = match parse_dd_member(dd_value) {
        Ok(dd) => dd,
        Err(why) => {
            record(
                STYLE,
                MalformedReason::InvalidTracestate,
                format_args!("dd= member {}: {why}; ignored", shown(dd_value)),
            );
            return Some(ctx);
        }
    };
    ctx.sampling_priority = reconcile(parent.sampled, dd.priority, dd.origin.as_deref());
    ctx.origin = dd.origin;
    ctx.last_parent_id = dd.last_parent_id;
    ctx.tags = dd.tags;
    if let Some(dm) = ctx.tags.get(DECISION_MAKER_KEY)
        && !is_valid_decision_maker(dm)
    {
        record(
            STYLE,
            MalformedReason::InvalidDecisionMaker,
            format_args!("t.dm {} must be -<0..255>; dropped", shown(dm)),
        );
        ctx.tags.remove(DECISION_MAKER_KEY);
    }
    Some(ctx)
}

/// Replaces the characters tracestate forbids: in keys `,` space `=`, in values `,` `;` `~`
/// (and `=` → `~`); runs of non-printable characters become one `_`.
#[cfg(test)]
fn encode(s: &str, key: bool) -> String {
    let mut out = String::with_capacity(s.len());
    encode_into(&mut out, s, key);
    out
}

/// [`encode`], appended to `out`.
fn encode_into(out: &mut String, s: &str, key: bool) {
    let mut in_run = false;
    for c in s.chars() {
        if !(' '..='~').contains(&c) {
            if !in_run {
                out.push('_');
            }
            in_run = true;
            continue;
        }
        in_run = false;
        let forbidden = if key {
            matches!(c, ',' | ' ' | '=')
        } else {
            matches!(c, ',' | ';' | '~')
        };
        out.push(match c {
            _ if forbidden => '_',
            '=' => '~',
            c => c,
        });
    }
}

/// The `dd=` member's value.
#[cfg(test)]
pub(crate) fn dd_member(ctx: &InjectContext<'_>) -> String {
    let mut out = String::new();
    write_dd_member(&mut out, ctx);
    out
}

/// Appends the `dd=` member's value to `out`, items separated by `;`, within
/// [`TRACESTATE_DD_MAX_CHARS`] (the propagated tags that would go past it are left out).
fn write_dd_member(out: &mut String, ctx: &InjectContext<'_>) {
    let start = out.len();
    if let Some(p) = ctx.sampling_priority {
        out.push_str("s:");
        if p < 0 {
            out.push('-');
        }
        push_decimal(out, u64::from(p.unsigned_abs()));
        out.push(';');
    }
    if let Some(o) = ctx.origin {
        out.push_str("o:");
        encode_into(out, o, false);
        out.push(';');
    }
    out.push_str("p:");
    push_hex(out, u128::from(ctx.span_id), 16);
    let dm = ctx
        .propagation_tags
        .get(DECISION_MAKER_KEY)
        .map(|v| (DECISION_MAKER_KEY, v.as_ref()));
    let others = ctx
        .propagation_tags
        .iter()
        .filter(|(k, _)| k.starts_with("_dd.p.") && *k != DECISION_MAKER_KEY && *k != TID_KEY)
        .map(|(k, v)| (k, v.as_ref()));
    for (k, v) in dm.into_iter().chain(others) {
        let item = out.len();
        out.push_str(";t.");
        encode_into(out, k.strip_prefix("_dd.p.").unwrap_or(k), true);
        out.push(':');
        encode_into(out, v, false);
        if out.len() - start > TRACESTATE_DD_MAX_CHARS {
            crate::log::debug!(
                "propagation: tracecontext: {:?} would take dd= over {TRACESTATE_DD_MAX_CHARS} characters; not propagated",
                &out[item + 1..]
            );
            out.truncate(item);
        }
    }
}

/// Writes `traceparent` and `tracestate`.
pub(crate) fn inject(ctx: &InjectContext<'_>, carrier: &mut dyn Injector) {
    let flags = if ctx.sampling_priority.is_some_and(|p| p > 0) {
        "01"
    } else {
        "00"
    };
    let mut parent = String::with_capacity(55);
    parent.push_str("00-");
    push_hex(&mut parent, ctx.trace_id.0, 32);
    parent.push('-');
    push_hex(&mut parent, u128::from(ctx.span_id), 16);
    parent.push('-');
    parent.push_str(flags);
    carrier.set_key(&TRACEPARENT, exact(parent));
    let (state, ()) = built(|state| {
        state.push_str("dd=");
        write_dd_member(state, ctx);
        if let Some(upstream) = ctx.tracestate {
            for m in limited_members(upstream)
                .into_iter()
                .filter(|m| !m.starts_with("dd="))
            {
                state.push(',');
                state.push_str(m);
            }
        }
    });
    carrier.set_key(&TRACESTATE, state);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_parsing() {
        let ok =
            parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        assert_eq!(ok.trace_id, TraceId(0x4bf92f3577b34da6a3ce929d0e0e4736));
        assert_eq!(ok.span_id, 0x00f067aa0ba902b7);
        assert!(ok.sampled);
        // A later version may carry more fields.
        assert!(
            parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-x").is_ok()
        );
        for bad in [
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
            "",
        ] {
            assert!(parse_traceparent(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn reconciliation() {
        assert_eq!(reconcile(true, Some(-1), None), Some(1));
        assert_eq!(reconcile(true, Some(0), None), Some(1));
        assert_eq!(reconcile(true, Some(2), None), Some(2));
        assert_eq!(reconcile(false, Some(2), None), Some(0));
        assert_eq!(reconcile(false, Some(-1), None), Some(-1));
        assert_eq!(reconcile(false, None, None), Some(0));
        assert_eq!(reconcile(true, None, Some("rum")), None);
    }

    #[test]
    fn encoding_rules() {
        assert_eq!(encode("a,b;c~d=e", false), "a_b_c_d~e");
        assert_eq!(encode("k ey=,", true), "k_ey__");
        assert_eq!(encode("é\u{1}x", false), "_x");
    }

    #[test]
    fn member_limits() {
        let many: Vec<String> = (0..40).map(|i| format!("v{i}=x")).collect();
        let ts = format!("{},dd=s:1", many.join(","));
        let kept = limited_members(&ts);
        assert_eq!(kept.len(), 32);
        assert_eq!(kept[0], "dd=s:1");
        assert_eq!(kept[31], "v30=x");
    }
}
