//! A minimal blocking HTTP/1.1 client over [`std::net::TcpStream`] (and, on Unix,
//! [`std::os::unix::net::UnixStream`]).
//!
//! It exists so that tests can talk to the test agent, and send hand-made payloads to it, without
//! an HTTP crate. One request per connection (`Connection: close`); responses framed by
//! `Content-Length`, `Transfer-Encoding: chunked` or the end of the connection are all read.
//!
//! ```no_run
//! # fn main() -> Result<(), ddtrace_test_agent::Error> {
//! use ddtrace_test_agent::http::{http_get, http_request};
//!
//! let info = http_get("http://127.0.0.1:8126/info")?;
//! assert_eq!(info.status, 200);
//!
//! let response = http_request(
//!     "PUT",
//!     "http://127.0.0.1:8126/v0.4/traces",
//!     &[("Content-Type", "application/msgpack"), ("X-Datadog-Trace-Count", "0")],
//!     &[0x90],
//! )?;
//! println!("{} {}", response.status, response.text());
//! # Ok(())
//! # }
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::error::{Error, Result};

/// The timeout used by [`http_request`] and [`http_get`] for connecting, and for each read or
/// write.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest response head (status line and headers) accepted.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// A complete HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code, e.g. `200`.
    pub status: u16,
    /// The reason phrase (may be empty; aiohttp sometimes puts an error message here).
    pub reason: String,
    /// The response headers, in the order received, names as sent.
    pub headers: Vec<(String, String)>,
    /// The response body (de-chunked).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body).map_err(|source| Error::Json {
            target: format!("a {} response", self.status),
            body: self.text(),
            source,
        })
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// `GET url` with no extra headers and the [`DEFAULT_TIMEOUT`].
pub fn http_get(url: &str) -> Result<HttpResponse> {
    http_request("GET", url, &[], &[])
}

/// Sends one request and reads the whole response, with the [`DEFAULT_TIMEOUT`].
///
/// `url` must be `http://host[:port][/path][?query]` (port 80 by default; IPv6 hosts in
/// brackets). `Host`, `Connection: close` and, for a non-empty body or a method other than
/// GET/HEAD/DELETE/OPTIONS, `Content-Length` are added unless `headers` already has them (so a
/// test can send a deliberately wrong `Content-Length`). Any status is returned as `Ok`; only
/// transport and framing problems are errors.
pub fn http_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<HttpResponse> {
    http_request_with_timeout(method, url, headers, body, DEFAULT_TIMEOUT)
}

/// Like [`http_request`], with an explicit timeout for connecting and for each read or write.
pub fn http_request_with_timeout(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> Result<HttpResponse> {
    let parsed = parse_url(url)?;
    let addrs = (parsed.host.as_str(), parsed.port)
        .to_socket_addrs()
        .map_err(|e| Error::io(format!("resolving {}:{}", parsed.host, parsed.port), e))?;
    let mut last_error = None;
    let mut stream = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_error = Some(e),
        }
    }
    let stream = match (stream, last_error) {
        (Some(s), _) => s,
        (None, Some(e)) => return Err(Error::io(format!("connecting to {url}"), e)),
        (None, None) => {
            return Err(Error::Url {
                url: url.to_owned(),
                reason: "the host resolved to no address".to_owned(),
            });
        }
    };
    let _ = stream.set_nodelay(true);
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| Error::io(format!("configuring the connection to {url}"), e))?;
    exchange(
        stream,
        url,
        method,
        &parsed.host_header,
        &parsed.target,
        headers,
        body,
    )
}

/// Sends one request over a Unix domain socket (as a tracer configured with
/// `DD_TRACE_AGENT_URL=unix:///path` would) and reads the whole response.
///
/// `target` is the request target, e.g. `/info` or `/v0.4/traces`. The `Host` header defaults to
/// `localhost`.
#[cfg(unix)]
pub fn http_request_unix(
    socket: &std::path::Path,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<HttpResponse> {
    let what = format!("unix:{}{target}", socket.display());
    let stream = std::os::unix::net::UnixStream::connect(socket)
        .map_err(|e| Error::io(format!("connecting to {}", socket.display()), e))?;
    stream
        .set_read_timeout(Some(DEFAULT_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(DEFAULT_TIMEOUT)))
        .map_err(|e| Error::io(format!("configuring the connection to {what}"), e))?;
    exchange(stream, &what, method, "localhost", target, headers, body)
}

/// Writes the request on `stream` and reads the response.
fn exchange<S: Read + Write>(
    mut stream: S,
    what: &str,
    method: &str,
    host: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<HttpResponse> {
    let has = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    let mut head = format!("{method} {target} HTTP/1.1\r\n");
    if !has("Host") {
        head.push_str(&format!("Host: {host}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let bodyless_method = matches!(method, "GET" | "HEAD" | "DELETE" | "OPTIONS");
    if !has("Content-Length") && !has("Transfer-Encoding") && (!body.is_empty() || !bodyless_method)
    {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    if !has("Connection") {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    let mut request = head.into_bytes();
    request.extend_from_slice(body);
    stream
        .write_all(&request)
        .and_then(|()| stream.flush())
        .map_err(|e| Error::io(format!("sending {method} {what}"), e))?;
    read_response(stream, what, method == "HEAD")
}

/// Reads and parses one response.
fn read_response<R: Read>(stream: R, what: &str, head_only: bool) -> Result<HttpResponse> {
    let protocol = |reason: String| Error::Protocol {
        target: what.to_owned(),
        reason,
    };
    let io = |e: std::io::Error| Error::io(format!("reading the response from {what}"), e);
    let mut reader = BufReader::new(stream);

    let mut head_bytes = 0usize;
    let mut line = String::new();
    // Status line (skipping any 1xx interim response).
    let (status, reason, headers) = loop {
        line.clear();
        head_bytes += read_line(&mut reader, &mut line).map_err(io)?;
        if line.is_empty() {
            return Err(protocol(
                "the connection closed before a status line".to_owned(),
            ));
        }
        let status_line = line.trim_end_matches(['\r', '\n']).to_owned();
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        if !version.starts_with("HTTP/1.") {
            return Err(protocol(format!("bad status line {status_line:?}")));
        }
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| protocol(format!("bad status line {status_line:?}")))?;
        let reason = parts.next().unwrap_or_default().to_owned();

        let mut headers = Vec::new();
        loop {
            line.clear();
            head_bytes += read_line(&mut reader, &mut line).map_err(io)?;
            if head_bytes > MAX_HEAD_BYTES {
                return Err(protocol("the response head is too large".to_owned()));
            }
            let header_line = line.trim_end_matches(['\r', '\n']);
            if header_line.is_empty() {
                if line.is_empty() {
                    return Err(protocol(
                        "the connection closed inside the headers".to_owned(),
                    ));
                }
                break;
            }
            let (name, value) = header_line
                .split_once(':')
                .ok_or_else(|| protocol(format!("bad header line {header_line:?}")))?;
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
        if (100..200).contains(&status) {
            continue;
        }
        break (status, reason, headers);
    };

    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let mut body = Vec::new();
    if head_only || status == 204 || status == 304 {
        // No body.
    } else if header("Transfer-Encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        loop {
            line.clear();
            read_line(&mut reader, &mut line).map_err(io)?;
            let size_text = line.trim_end_matches(['\r', '\n']);
            let size_text = size_text.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| protocol(format!("bad chunk size line {line:?}")))?;
            if size == 0 {
                // Trailers, up to the empty line (or the end of the stream).
                loop {
                    line.clear();
                    if read_line(&mut reader, &mut line).map_err(io)? == 0
                        || line.trim_end_matches(['\r', '\n']).is_empty()
                    {
                        break;
                    }
                }
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..]).map_err(io)?;
            let mut crlf = [0u8; 2];
            reader.read_exact(&mut crlf).map_err(io)?;
            if &crlf != b"\r\n" {
                return Err(protocol("a chunk is not followed by CRLF".to_owned()));
            }
        }
    } else if let Some(length) = header("Content-Length") {
        let length: usize = length
            .parse()
            .map_err(|_| protocol(format!("bad Content-Length {length:?}")))?;
        body.resize(length, 0);
        reader.read_exact(&mut body).map_err(io)?;
    } else {
        reader.read_to_end(&mut body).map_err(io)?;
    }
    Ok(HttpResponse {
        status,
        reason,
        headers,
        body,
    })
}

/// Reads one line (up to and including `\n`), lossily decoded; returns the bytes read.
fn read_line<R: BufRead>(reader: &mut R, out: &mut String) -> std::io::Result<usize> {
    let mut bytes = Vec::new();
    let n = reader
        .by_ref()
        .take(MAX_HEAD_BYTES as u64)
        .read_until(b'\n', &mut bytes)?;
    out.push_str(&String::from_utf8_lossy(&bytes));
    Ok(n)
}

/// The parts of an `http://` URL.
#[derive(Debug, PartialEq, Eq)]
struct ParsedUrl {
    /// Host to connect to (brackets removed from IPv6).
    host: String,
    /// Port to connect to.
    port: u16,
    /// Value of the `Host` header.
    host_header: String,
    /// Path and query.
    target: String,
}

fn parse_url(url: &str) -> Result<ParsedUrl> {
    let bad = |reason: &str| Error::Url {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| bad("only http:// URLs are supported"))?;
    let (authority, target) = match rest.find(['/', '?']) {
        Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_owned()),
        Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
        None => (rest, "/".to_owned()),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(bad("missing host, or user info present"));
    }
    let (host, port) = if let Some(after_bracket) = authority.strip_prefix('[') {
        let (host, tail) = after_bracket
            .split_once(']')
            .ok_or_else(|| bad("unclosed '[' in the host"))?;
        let port = match tail.strip_prefix(':') {
            Some(p) => Some(p),
            None if tail.is_empty() => None,
            None => return Err(bad("junk after the IPv6 host")),
        };
        (host.to_owned(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (authority.to_owned(), None),
        }
    };
    let port = match port {
        Some(p) => p.parse().map_err(|_| bad("invalid port"))?,
        None => 80,
    };
    Ok(ParsedUrl {
        host,
        port,
        host_header: authority.to_owned(),
        target,
    })
}

/// Percent-encodes `value` for use in a URL query (everything but `A-Z a-z 0-9 - . _ ~`).
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let u = parse_url("http://127.0.0.1:8126/info").unwrap();
        assert_eq!(
            u,
            ParsedUrl {
                host: "127.0.0.1".into(),
                port: 8126,
                host_header: "127.0.0.1:8126".into(),
                target: "/info".into()
            }
        );
        let u = parse_url("http://[::1]:9/x?y=1").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.target.as_str()),
            ("::1", 9, "/x?y=1")
        );
        let u = parse_url("http://localhost?q").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.target.as_str()),
            ("localhost", 80, "/?q")
        );
        assert!(parse_url("https://x").is_err());
        assert!(parse_url("http://x:notaport/").is_err());
    }

    #[test]
    fn reads_content_length_response() {
        let raw =
            b"HTTP/1.1 400 \r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n400: extra";
        let r = read_response(&raw[..], "t", false).unwrap();
        assert_eq!(r.status, 400);
        assert_eq!(r.reason, "");
        assert_eq!(r.text(), "400: ");
        assert_eq!(r.header("content-type"), Some("text/plain"));
    }

    #[test]
    fn reads_chunked_response() {
        let raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n6;ext=1\r\npedia \r\n0\r\nTrailer: x\r\n\r\n";
        let r = read_response(&raw[..], "t", false).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.reason, "OK");
        assert_eq!(r.text(), "Wikipedia ");
    }

    #[test]
    fn reads_until_close_without_length() {
        let raw = b"HTTP/1.0 200 OK\r\n\r\nhello";
        assert_eq!(read_response(&raw[..], "t", false).unwrap().text(), "hello");
    }

    #[test]
    fn rejects_garbage() {
        assert!(read_response(&b"SSH-2.0\r\n"[..], "t", false).is_err());
        assert!(read_response(&b""[..], "t", false).is_err());
    }

    #[test]
    fn percent_encodes() {
        assert_eq!(
            percent_encode(r#"{"service:a,env:b": 0.5}"#),
            "%7B%22service%3Aa%2Cenv%3Ab%22%3A%200.5%7D"
        );
    }
}
