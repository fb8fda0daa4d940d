//! Test support for the Datadog test agent (filled by the transport issue).
