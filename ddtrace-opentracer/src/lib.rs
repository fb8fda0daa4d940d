//! An OpenTracing tracer backed by Datadog APM (filled by the opentracer issue).
