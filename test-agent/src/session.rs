//! Test sessions: one token per test, so that what one test sent never shows up in another's
//! results.

use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::agent::{expect_success, next_id, parse_json};
use crate::error::{Error, Result};
use crate::http::{self, HttpResponse, percent_encode};
use crate::tree::render_trace_tree;

/// The request header that ties a trace request to a session: a tracer under test must send
/// `X-Datadog-Test-Session-Token: <Session::token()>` with every request.
pub const SESSION_TOKEN_HEADER: &str = "X-Datadog-Test-Session-Token";

/// Polling interval of the `wait_for_*` methods.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// A test session on a [`TestAgent`](crate::TestAgent), made by
/// [`TestAgent::session`](crate::TestAgent::session).
///
/// Its token is unique (`<test name>-<pid>-<counter>`). The agent attributes a request to the
/// session when it carries the header [`SESSION_TOKEN_HEADER`] with the token, **or** when it
/// carries no token at all and arrived after the session started; so give every request a token
/// when several sessions share an agent.
///
/// Use one session per test: a malformed payload stored in a session makes its trace read-back
/// answer 400 until [`Session::clear`].
#[derive(Debug, Clone)]
pub struct Session {
    base_url: String,
    token: String,
    sample_rates: Option<Value>,
}

/// One request the agent received, as listed by `/test/session/requests`, with the body decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `PUT` or `POST`.
    pub method: String,
    /// The full URL as the agent saw it, e.g. `http://127.0.0.1:PORT/v0.4/traces`.
    pub url: String,
    /// The request headers, names as the client sent them.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path of [`RecordedRequest::url`], e.g. `/v0.4/traces`.
    pub fn path(&self) -> &str {
        let without_scheme = self
            .url
            .split_once("://")
            .map_or(self.url.as_str(), |x| x.1);
        let path = without_scheme
            .find('/')
            .map_or("/", |i| &without_scheme[i..]);
        path.split('?').next().unwrap_or(path)
    }
}

impl Session {
    /// Starts a session with a fresh token on the agent at `base_url`.
    pub(crate) fn start_new(
        base_url: String,
        label: &str,
        sample_rates: Option<Value>,
    ) -> Result<Session> {
        let token = format!("{label}-{}-{}", std::process::id(), next_id());
        let session = Session {
            base_url,
            token,
            sample_rates,
        };
        session.start()?;
        Ok(session)
    }

    /// The session token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The header a request must carry to belong to this session:
    /// `(SESSION_TOKEN_HEADER, token)`.
    pub fn header(&self) -> (&'static str, &str) {
        (SESSION_TOKEN_HEADER, &self.token)
    }

    /// The agent's base URL.
    pub fn agent_url(&self) -> &str {
        &self.base_url
    }

    /// (Re)announces the session (`/test/session/start`), with the sampling rates it was created
    /// with. Needed again after [`TestAgent::restart`](crate::TestAgent::restart) if the rates
    /// matter (without a start, requests carrying the token are still found).
    pub fn start(&self) -> Result<()> {
        let mut path = format!(
            "/test/session/start?test_session_token={}",
            percent_encode(&self.token)
        );
        if let Some(rates) = &self.sample_rates {
            path.push_str("&agent_sample_rate_by_service=");
            path.push_str(&percent_encode(&rates.to_string()));
        }
        self.get_ok(&path).map(drop)
    }

    /// Sends a hand-made trace payload as a tracer would: `PUT <endpoint>` with
    /// `Content-Type: application/msgpack`, `X-Datadog-Trace-Count: <trace_count>`,
    /// `Datadog-Meta-Lang: rust`, `Datadog-Meta-Tracer-Version: 0.1.0` and this session's token.
    /// Returns the agent's answer, whatever its status.
    pub fn put_traces(
        &self,
        endpoint: &str,
        trace_count: usize,
        body: &[u8],
    ) -> Result<HttpResponse> {
        let count = trace_count.to_string();
        http::http_request(
            "PUT",
            &format!("{}{endpoint}", self.base_url),
            &[
                ("Content-Type", "application/msgpack"),
                ("X-Datadog-Trace-Count", &count),
                ("Datadog-Meta-Lang", "rust"),
                ("Datadog-Meta-Tracer-Version", "0.1.0"),
                self.header(),
            ],
            body,
        )
    }

    /// The session's traces (`/test/session/traces`): a JSON array of traces, each an array of
    /// spans (`trace_id`, `span_id`, `parent_id`, `name`, `service`, `resource`, `start`,
    /// `duration`, `error`, `meta`, `metrics`, and `type`, `span_links`, ... when sent), spans of
    /// one trace id gathered across chunks.
    pub fn traces(&self) -> Result<Value> {
        self.get_json(&self.with_token("/test/session/traces"))
    }

    /// Polls [`Session::traces`] until it holds at least `count` traces and returns them; fails
    /// after `timeout`, or at once if the agent answers an error (e.g. 400 for a stored malformed
    /// payload).
    pub fn wait_for_traces(&self, count: usize, timeout: Duration) -> Result<Value> {
        self.wait_for(&format!("{count} trace(s)"), timeout, |traces| {
            traces.as_array().map_or(0, Vec::len) >= count
        })
    }

    /// Polls [`Session::traces`] until they hold at least `count` spans in total and returns the
    /// traces; fails like [`Session::wait_for_traces`].
    pub fn wait_for_spans(&self, count: usize, timeout: Duration) -> Result<Value> {
        self.wait_for(&format!("{count} span(s)"), timeout, |traces| {
            span_count(traces) >= count
        })
    }

    /// The raw intake requests of the session (`/test/session/requests`), oldest first: a JSON
    /// array of `{"headers": {name: value}, "body": "<base64>", "url": "...", "method": "PUT"}`.
    pub fn requests(&self) -> Result<Value> {
        self.get_json(&self.with_token("/test/session/requests"))
    }

    /// [`Session::requests`] with the bodies decoded.
    pub fn recorded_requests(&self) -> Result<Vec<RecordedRequest>> {
        let url = format!(
            "{}{}",
            self.base_url,
            self.with_token("/test/session/requests")
        );
        let value = self.requests()?;
        let bad = |reason: &str| Error::Protocol {
            target: url.clone(),
            reason: format!("{reason} in {value}"),
        };
        let mut out = Vec::new();
        for item in value.as_array().ok_or_else(|| bad("not an array"))? {
            let text = |key: &str| item.get(key).and_then(Value::as_str).unwrap_or_default();
            let headers = item
                .get("headers")
                .and_then(Value::as_object)
                .map(|h| {
                    h.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                        .collect()
                })
                .unwrap_or_default();
            out.push(RecordedRequest {
                method: text("method").to_owned(),
                url: text("url").to_owned(),
                headers,
                body: decode_base64(text("body")).ok_or_else(|| bad("invalid base64 body"))?,
            });
        }
        Ok(out)
    }

    /// Polls [`Session::recorded_requests`] until at least `count` requests arrived.
    pub fn wait_for_requests(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<RecordedRequest>> {
        let deadline = Instant::now() + timeout;
        loop {
            let last = match self.recorded_requests() {
                Ok(requests) if requests.len() >= count => return Ok(requests),
                Ok(requests) => format!("{} request(s)", requests.len()),
                Err(Error::Status { status: 404, .. }) => "no session yet".to_owned(),
                Err(e) => return Err(e),
            };
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    what: format!("{count} request(s) in session {}", self.token),
                    timeout,
                    last_seen: last,
                });
            }
            thread::sleep(POLL_INTERVAL);
        }
    }

    /// Forgets the session's requests and traces (`/test/session/clear`) and its pooled check
    /// failures (`/test/trace_check/clear`).
    pub fn clear(&self) -> Result<()> {
        self.get_ok(&self.with_token("/test/session/clear"))?;
        // Answers 400 when the session has no check results yet: nothing to clear then.
        let _ = http::http_get(&format!(
            "{}{}",
            self.base_url,
            self.with_token("/test/trace_check/clear")
        ));
        Ok(())
    }

    /// The session's failed trace checks (`/test/trace_check/failures`): `None` when there are
    /// none (`200 "200: OK"`), else the agent's text (a 400 body starting with
    /// `APM Test Agent Validation failed with N Trace Check failures.`). Needs
    /// [`TestAgentBuilder::pool_trace_check_failures`](crate::TestAgentBuilder::pool_trace_check_failures)
    /// (on by default).
    pub fn trace_check_failures(&self) -> Result<Option<String>> {
        let url = format!(
            "{}{}",
            self.base_url,
            self.with_token("/test/trace_check/failures")
        );
        let response = http::http_get(&url)?;
        match response.status {
            200 => Ok(None),
            400 => Ok(Some(response.text())),
            _ => {
                expect_success("GET", &url, &response)?;
                Ok(None)
            }
        }
    }

    fn with_token(&self, path: &str) -> String {
        format!("{path}?test_session_token={}", percent_encode(&self.token))
    }

    fn get_ok(&self, path_and_query: &str) -> Result<HttpResponse> {
        let url = format!("{}{path_and_query}", self.base_url);
        let response = http::http_get(&url)?;
        expect_success("GET", &url, &response)?;
        Ok(response)
    }

    fn get_json(&self, path_and_query: &str) -> Result<Value> {
        let url = format!("{}{path_and_query}", self.base_url);
        let response = self.get_ok(path_and_query)?;
        parse_json(&url, &response)
    }

    fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Result<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let last = match self.traces() {
                Ok(traces) if done(&traces) => return Ok(traces),
                Ok(traces) => render_trace_tree(&traces),
                // No request with this token since a restart: nothing yet.
                Err(Error::Status { status: 404, .. }) => "no session yet".to_owned(),
                Err(e) => return Err(e),
            };
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    what: format!("{what} in session {}", self.token),
                    timeout,
                    last_seen: if last.is_empty() {
                        "no traces".to_owned()
                    } else {
                        last
                    },
                });
            }
            thread::sleep(POLL_INTERVAL);
        }
    }
}

/// The number of spans in a traces array (as returned by [`Session::traces`]).
pub fn span_count(traces: &Value) -> usize {
    traces.as_array().map_or(0, |ts| {
        ts.iter().map(|t| t.as_array().map_or(0, Vec::len)).sum()
    })
}

/// Decodes standard base64 (with or without padding); `None` if invalid.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let digits = text.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for group in digits.chunks(4) {
        if group.len() == 1 {
            return None;
        }
        let mut acc = 0u32;
        for (i, &c) in group.iter().enumerate() {
            acc |= value(c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..group.len()]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_base64() {
        assert_eq!(decode_base64("kA==").unwrap(), vec![0x90]);
        assert_eq!(decode_base64("").unwrap(), Vec::<u8>::new());
        assert_eq!(decode_base64("aGVsbG8gd29ybGQ=").unwrap(), b"hello world");
        assert_eq!(decode_base64("YWJj").unwrap(), b"abc");
        assert_eq!(decode_base64("YWI").unwrap(), b"ab");
        assert!(decode_base64("a").is_none());
        assert!(decode_base64("a*==").is_none());
    }

    #[test]
    fn counts_spans() {
        let traces = serde_json::json!([[{}, {}], [{}]]);
        assert_eq!(span_count(&traces), 3);
        assert_eq!(span_count(&serde_json::json!({})), 0);
    }

    #[test]
    fn recorded_request_path() {
        let r = RecordedRequest {
            method: "PUT".into(),
            url: "http://127.0.0.1:1/v0.4/traces?x=1".into(),
            headers: vec![("X-Datadog-Trace-Count".into(), "1".into())],
            body: vec![],
        };
        assert_eq!(r.path(), "/v0.4/traces");
        assert_eq!(r.header("x-datadog-trace-count"), Some("1"));
    }
}
