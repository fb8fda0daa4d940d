"""Interop helper: runs the reference tracer's (ddtrace-py) propagation and sampling.

Reads one JSON request on stdin, writes one JSON answer on stdout. Cases are batched so a test
starts one Python process:

  {"op": "extract", "cases": [{"styles": "datadog,tracecontext", "headers": {...}}, ...]}
      -> [null | {"trace_id": "<32 hex>", "span_id": "<decimal>", "sampling_priority": n|null,
                  "origin": s|null, "tags": {"_dd.p.*": ...}, "meta": {...}, "baggage": {...},
                  "links": [{"trace_id", "span_id", "flags", "tracestate", "attributes"}]}, ...]
      (null when no trace context was extracted; baggage alone gives trace_id null)
  {"op": "inject", "cases": [{"styles": "b3", "trace_id": "<32 hex>", "span_id": "<decimal>",
                              "sampling_priority": n|null, "origin": s|null, "tags": {...},
                              "baggage": {...}}, ...]}
      -> [{"header": "value", ...}, ...]
  {"op": "knuth", "cases": [{"trace_id": "<32 hex>", "rate": 0.5}, ...]} -> [true|false, ...]
  {"op": "span_knuth", "cases": [{"span_id": "<decimal>", "rate": 0.5}, ...]} -> [true|false, ...]
      (a single-span sampling rule's rate test on the span id)

Ids travel as strings: 128-bit values do not fit a JSON number everywhere.
"""

import json
import sys

from ddtrace._trace.context import Context
from ddtrace._trace.sampling_rule import SamplingRule
from ddtrace._trace.span import Span
from ddtrace.internal.sampling import SpanSamplingRule
from ddtrace.internal.settings._config import config
from ddtrace.propagation.http import HTTPPropagator


def set_styles(styles):
    names = [s.strip() for s in styles.split(",") if s.strip() and s.strip() != "none"]
    config._propagation_style_extract = names
    config._propagation_style_inject = names


def extract(case):
    set_styles(case["styles"])
    ctx = HTTPPropagator.extract(case["headers"])
    baggage = {str(k): str(v) for k, v in ctx.get_all_baggage_items().items()}
    if ctx.trace_id is None and not baggage:
        return None
    meta = {str(k): str(v) for k, v in ctx._meta.items()}
    links = []
    for link in ctx._span_links or []:
        links.append(
            {
                "trace_id": "%032x" % link.trace_id,
                "span_id": str(link.span_id),
                "flags": link.flags,
                "tracestate": link.tracestate,
                "attributes": {str(k): str(v) for k, v in (link.attributes or {}).items()},
            }
        )
    return {
        "trace_id": None if ctx.trace_id is None else "%032x" % ctx.trace_id,
        "span_id": None if ctx.span_id is None else str(ctx.span_id),
        "sampling_priority": None if ctx.sampling_priority is None else int(ctx.sampling_priority),
        "origin": ctx.dd_origin,
        "tags": {k: v for k, v in meta.items() if k.startswith("_dd.p.")},
        "meta": meta,
        "baggage": baggage,
        "links": links,
    }


def inject(case):
    set_styles(case["styles"])
    ctx = Context(
        trace_id=int(case["trace_id"], 16),
        span_id=int(case["span_id"]),
        sampling_priority=case.get("sampling_priority"),
        dd_origin=case.get("origin"),
        meta=dict(case.get("tags") or {}),
        baggage=dict(case.get("baggage") or {}),
        is_remote=False,
    )
    headers = {}
    HTTPPropagator.inject(ctx, headers)
    return headers


def knuth(case):
    span = Span("interop", trace_id=int(case["trace_id"], 16), span_id=1)
    return bool(SamplingRule(sample_rate=case["rate"]).sample(span))


def span_knuth(case):
    span = Span("interop", span_id=int(case["span_id"]))
    rule = SpanSamplingRule(sample_rate=case["rate"], max_per_second=-1, name="interop")
    return bool(rule.match(span) and rule._sample(span))


def main():
    request = json.load(sys.stdin)
    op = {"extract": extract, "inject": inject, "knuth": knuth, "span_knuth": span_knuth}[
        request["op"]
    ]
    json.dump([op(case) for case in request["cases"]], sys.stdout)


if __name__ == "__main__":
    main()
