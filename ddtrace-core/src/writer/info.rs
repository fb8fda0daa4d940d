//! What the agent's `GET /info` says, as far as the writer cares: whether `/v0.5/traces` is
//! there, whether span events can be sent natively, and the largest request body it accepts.

use crate::encode::{ApiVersion, EncodeOptions};

/// The parts of `/info` the writer uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct AgentInfo {
    /// `endpoints`.
    pub(crate) endpoints: Vec<String>,
    /// `span_events`: the v0.4 `span_events` field is understood.
    pub(crate) span_events: bool,
    /// `config.max_request_bytes`, when present.
    pub(crate) max_request_bytes: Option<usize>,
}

impl AgentInfo {
    /// Parses an `/info` body; `None` if it is not a JSON object.
    pub(crate) fn parse(body: &[u8]) -> Option<AgentInfo> {
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        let object = value.as_object()?;
        let endpoints = object
            .get("endpoints")
            .and_then(|e| e.as_array())
            .map(|list| {
                list.iter()
                    .filter_map(|e| e.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let span_events = object
            .get("span_events")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        let max_request_bytes = object
            .get("config")
            .and_then(|c| c.get("max_request_bytes"))
            .and_then(serde_json::Value::as_u64)
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| *n > 0);
        Some(AgentInfo {
            endpoints,
            span_events,
            max_request_bytes,
        })
    }

    /// Whether the agent lists `version`'s trace endpoint.
    pub(crate) fn supports(&self, version: ApiVersion) -> bool {
        let path = version.path();
        self.endpoints
            .iter()
            .any(|e| e.trim_end_matches('/') == path)
    }
}

/// How the writer encodes, given what it wants and what the agent said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Negotiated {
    pub(crate) version: ApiVersion,
    pub(crate) options: EncodeOptions,
    pub(crate) max_payload: usize,
}

impl Negotiated {
    /// v0.5 only when asked for, the agent lists it and it was not refused before; native span
    /// events when the agent says so; the smaller of the configured and the agent's size limit.
    pub(crate) fn new(
        wanted: ApiVersion,
        v05_refused: bool,
        info: Option<&AgentInfo>,
        configured_max: usize,
    ) -> Negotiated {
        let version = match (wanted, info) {
            (ApiVersion::V05, Some(info)) if !v05_refused && info.supports(ApiVersion::V05) => {
                ApiVersion::V05
            }
            _ => ApiVersion::V04,
        };
        let span_events = info.is_some_and(|i| i.span_events);
        let max_payload = info
            .and_then(|i| i.max_request_bytes)
            .map_or(configured_max, |agent| agent.min(configured_max));
        Negotiated {
            version,
            options: EncodeOptions::new().with_native_span_events(span_events),
            max_payload,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST_AGENT_INFO: &str = r#"{"version": "test",
        "endpoints": ["/v0.4/traces", "/v0.5/traces", "/v0.7/traces", "/v0.6/stats"],
        "feature_flags": [], "config": {}, "client_drop_p0s": true, "span_events": true}"#;

    #[test]
    fn parses_the_test_agent_answer() {
        let info = AgentInfo::parse(TEST_AGENT_INFO.as_bytes()).unwrap();
        assert!(info.supports(ApiVersion::V04));
        assert!(info.supports(ApiVersion::V05));
        assert!(info.span_events);
        assert_eq!(info.max_request_bytes, None);
        assert_eq!(AgentInfo::parse(b"not json"), None);
        assert_eq!(AgentInfo::parse(b"[]"), None);
    }

    #[test]
    fn negotiation() {
        let full = AgentInfo::parse(
            br#"{"endpoints":["/v0.4/traces","/v0.5/traces"],"config":{"max_request_bytes":1000}}"#,
        )
        .unwrap();
        let n = Negotiated::new(ApiVersion::V05, false, Some(&full), 5000);
        assert_eq!(n.version, ApiVersion::V05);
        assert!(!n.options.native_span_events);
        assert_eq!(n.max_payload, 1000);
        // Refused before, or not asked for, or agent unknown: v0.4.
        assert_eq!(
            Negotiated::new(ApiVersion::V05, true, Some(&full), 5000).version,
            ApiVersion::V04
        );
        assert_eq!(
            Negotiated::new(ApiVersion::V04, false, Some(&full), 5000).version,
            ApiVersion::V04
        );
        let unknown = Negotiated::new(ApiVersion::V05, false, None, 5000);
        assert_eq!(unknown.version, ApiVersion::V04);
        assert_eq!(unknown.max_payload, 5000);
        let v04_only =
            AgentInfo::parse(br#"{"endpoints":["/v0.4/traces"],"span_events":true}"#).unwrap();
        let n = Negotiated::new(ApiVersion::V05, false, Some(&v04_only), 5000);
        assert_eq!(n.version, ApiVersion::V04);
        assert!(n.options.native_span_events);
    }
}
