//! The OpenTracing API (filled by the workspace issue).
