//! The standard span tags of the OpenTracing semantic conventions.
//!
//! | key | type | meaning |
//! |---|---|---|
//! | [`SPAN_KIND`] | string | the span's role: [`SPAN_KIND_CLIENT`], [`SPAN_KIND_SERVER`], [`SPAN_KIND_PRODUCER`], [`SPAN_KIND_CONSUMER`] |
//! | [`COMPONENT`] | string | the software package, framework or library that made the span |
//! | [`ERROR`] | bool | `true` if the operation failed |
//! | [`HTTP_METHOD`] | string | the HTTP method of the request |
//! | [`HTTP_URL`] | string | the URL of the request |
//! | [`HTTP_STATUS_CODE`] | integer | the HTTP response status code |
//! | [`DB_INSTANCE`] | string | the database instance name |
//! | [`DB_STATEMENT`] | string | the database statement |
//! | [`DB_TYPE`] | string | the database type (`sql`, `redis`, `cassandra`, ...) |
//! | [`DB_USER`] | string | the database user |
//! | [`MESSAGE_BUS_DESTINATION`] | string | the queue or topic a message was sent to or received from |
//! | [`PEER_ADDRESS`] | string | the remote address (`host:port`, a path, ...) |
//! | [`PEER_HOSTNAME`] | string | the remote host name |
//! | [`PEER_IPV4`] | string | the remote IPv4 address |
//! | [`PEER_IPV6`] | string | the remote IPv6 address |
//! | [`PEER_PORT`] | integer | the remote port |
//! | [`PEER_SERVICE`] | string | the remote service name |
//! | [`SAMPLING_PRIORITY`] | integer | a sampling hint: `0` drop the trace, above `0` keep it |
//!
//! # Examples
//!
//! ```
//! use opentracing_api::{global_tracer, tags};
//!
//! let mut span = global_tracer().start_span("GET /users");
//! span.set_tag(tags::SPAN_KIND, tags::SPAN_KIND_SERVER);
//! span.set_tag(tags::HTTP_METHOD, "GET");
//! span.set_tag(tags::HTTP_STATUS_CODE, 200_u16);
//! ```

/// `span.kind`: the span's role in a remote call or a message exchange.
pub const SPAN_KIND: &str = "span.kind";
/// `client`: the [`SPAN_KIND`] of the client side of an RPC.
pub const SPAN_KIND_CLIENT: &str = "client";
/// `server`: the [`SPAN_KIND`] of the server side of an RPC.
pub const SPAN_KIND_SERVER: &str = "server";
/// `producer`: the [`SPAN_KIND`] of a message producer.
pub const SPAN_KIND_PRODUCER: &str = "producer";
/// `consumer`: the [`SPAN_KIND`] of a message consumer.
pub const SPAN_KIND_CONSUMER: &str = "consumer";
/// `component`: the software package, framework or library that made the span.
pub const COMPONENT: &str = "component";
/// `error`: `true` if the operation failed.
pub const ERROR: &str = "error";
/// `http.method`: the HTTP method of the request.
pub const HTTP_METHOD: &str = "http.method";
/// `http.url`: the URL of the request.
pub const HTTP_URL: &str = "http.url";
/// `http.status_code`: the HTTP response status code.
pub const HTTP_STATUS_CODE: &str = "http.status_code";
/// `db.instance`: the database instance name.
pub const DB_INSTANCE: &str = "db.instance";
/// `db.statement`: the database statement.
pub const DB_STATEMENT: &str = "db.statement";
/// `db.type`: the database type (`sql`, `redis`, `cassandra`, ...).
pub const DB_TYPE: &str = "db.type";
/// `db.user`: the database user.
pub const DB_USER: &str = "db.user";
/// `message_bus.destination`: the queue or topic of a message.
pub const MESSAGE_BUS_DESTINATION: &str = "message_bus.destination";
/// `peer.address`: the remote address.
pub const PEER_ADDRESS: &str = "peer.address";
/// `peer.hostname`: the remote host name.
pub const PEER_HOSTNAME: &str = "peer.hostname";
/// `peer.ipv4`: the remote IPv4 address.
pub const PEER_IPV4: &str = "peer.ipv4";
/// `peer.ipv6`: the remote IPv6 address.
pub const PEER_IPV6: &str = "peer.ipv6";
/// `peer.port`: the remote port.
pub const PEER_PORT: &str = "peer.port";
/// `peer.service`: the remote service name.
pub const PEER_SERVICE: &str = "peer.service";
/// `sampling.priority`: a sampling hint; `0` asks to drop the trace, above `0` to keep it.
pub const SAMPLING_PRIORITY: &str = "sampling.priority";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_the_semantic_conventions() {
        assert_eq!(
            [
                SPAN_KIND,
                SPAN_KIND_CLIENT,
                SPAN_KIND_SERVER,
                SPAN_KIND_PRODUCER,
                SPAN_KIND_CONSUMER,
                COMPONENT,
                ERROR,
                HTTP_METHOD,
                HTTP_URL,
                HTTP_STATUS_CODE,
                DB_INSTANCE,
                DB_STATEMENT,
                DB_TYPE,
                DB_USER,
                MESSAGE_BUS_DESTINATION,
                PEER_ADDRESS,
                PEER_HOSTNAME,
                PEER_IPV4,
                PEER_IPV6,
                PEER_PORT,
                PEER_SERVICE,
                SAMPLING_PRIORITY,
            ],
            [
                "span.kind",
                "client",
                "server",
                "producer",
                "consumer",
                "component",
                "error",
                "http.method",
                "http.url",
                "http.status_code",
                "db.instance",
                "db.statement",
                "db.type",
                "db.user",
                "message_bus.destination",
                "peer.address",
                "peer.hostname",
                "peer.ipv4",
                "peer.ipv6",
                "peer.port",
                "peer.service",
                "sampling.priority",
            ]
        );
    }
}
