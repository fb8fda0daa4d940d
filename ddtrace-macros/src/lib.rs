//! The `#[trace]` attribute macro (filled by the ddtrace-core issue).
