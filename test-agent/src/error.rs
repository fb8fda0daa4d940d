//! The error type of this crate.

use std::path::PathBuf;
use std::time::Duration;

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while installing, starting or querying the test agent.
///
/// Every message is meant to be read by a person looking at a failed test: it says what was
/// attempted, what happened and, where it helps, what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Creating the Python virtual environment or installing the pinned packages failed.
    #[error(
        "could not install the pinned Python packages of {requirements} into {venv}: {message}\n\
         (the tests need Python 3 with the `venv` module and `pip`, and network access to PyPI \
         the first time; delete {venv} to force a clean reinstall)"
    )]
    Install {
        /// The virtual environment directory.
        venv: PathBuf,
        /// The requirements file being installed.
        requirements: PathBuf,
        /// What failed, including the failing command's output.
        message: String,
    },

    /// An I/O operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A URL this crate cannot handle (only `http://host[:port]/path` is supported).
    #[error("unsupported URL {url:?}: {reason}")]
    Url {
        /// The URL.
        url: String,
        /// Why it is not supported.
        reason: String,
    },

    /// The peer sent something that is not a valid HTTP/1.1 response.
    #[error("malformed HTTP response from {target}: {reason}")]
    Protocol {
        /// Where the request went.
        target: String,
        /// What was wrong.
        reason: String,
    },

    /// The agent answered with an unexpected HTTP status.
    #[error("{method} {target} answered {status} {reason}: {body}")]
    Status {
        /// The request method.
        method: String,
        /// The request URL.
        target: String,
        /// The HTTP status code.
        status: u16,
        /// The reason phrase (the test agent sometimes puts its error message here).
        reason: String,
        /// The response body, as (lossy) text.
        body: String,
    },

    /// A response body that should have been JSON was not.
    #[error("invalid JSON from {target}: {source}; body: {body}")]
    Json {
        /// Where the body came from.
        target: String,
        /// The body, as (lossy) text.
        body: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },

    /// The agent process exited before it was ready, or while it was expected to run.
    #[error("the test agent exited ({status}) before it was ready; its log ({log_path}):\n{log}")]
    AgentExited {
        /// The exit status, as text.
        status: String,
        /// The agent's log file.
        log_path: PathBuf,
        /// The agent's stdout and stderr.
        log: String,
    },

    /// The agent did not become ready in time (the log may be empty: Python is slow to start on
    /// a loaded machine).
    #[error("the test agent did not become ready within {timeout:?}; its log ({log_path}):\n{log}")]
    StartTimeout {
        /// How long was waited.
        timeout: Duration,
        /// The agent's log file.
        log_path: PathBuf,
        /// The agent's stdout and stderr.
        log: String,
    },

    /// A wait for traces, spans or requests ran out of time.
    #[error("timed out after {timeout:?} waiting for {what}; last seen: {last_seen}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long was waited.
        timeout: Duration,
        /// What the agent had when the time ran out.
        last_seen: String,
    },
}

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}
