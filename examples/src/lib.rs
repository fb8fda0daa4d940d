//! Example code (filled by the workspace issue).
