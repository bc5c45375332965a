#!/usr/bin/env python3
"""Writes the trace-propagation interop vectors that
filters/tests/interop.rs runs tracesafe's one parser and one injector per
format against: W3C traceparent, B3 single, B3 multi, Jaeger and AWS X-Ray,
as the OpenTelemetry reference propagators (Python) read and write them.

Each filters/tests/data/interop/{format}.json holds:
- "extract": header sets (hand-written edge cases, and what OTel injected
  for each context) with what OTel extracted from them ("otel", null when
  it found no valid context). Where tracesafe deliberately reads a set
  differently, "tracesafe" holds its result and "differs" says why.
- "inject": a context, the headers tracesafe must write for it
  ("tracesafe_writes", compared byte for byte) and what OTel extracts from
  those headers ("otel_reads", which must be the context).

A context is {"trace_id", "span_id", "sampled"}; "sampled": null means the
caller deferred the decision to this hop (OTel has no such state).

Regenerate (the tests read the JSON; CI needs no Python):
  python3 -m venv /tmp/otel && /tmp/otel/bin/pip install \\
    opentelemetry-sdk opentelemetry-propagator-b3 \\
    opentelemetry-propagator-jaeger opentelemetry-propagator-aws-xray
  /tmp/otel/bin/python filters/tests/data/interop/generate.py
"""
import json
import os
from importlib.metadata import version

from opentelemetry import trace
from opentelemetry.propagators.aws import AwsXRayPropagator
from opentelemetry.propagators.b3 import B3MultiFormat, B3SingleFormat
from opentelemetry.propagators.jaeger import JaegerPropagator
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

OUT = os.path.dirname(os.path.abspath(__file__))

T = "80f198ee56343ba864fe8b2a57d3eff7"
T64 = "80f198ee56343ba8"
PADDED = "0000000000000000" + T64
S = "e457b5a2e4d86bd1"
PARENT = "05e3ac9a4f6e3b90"
XT = "5759e988bd862e3fe1be46a994272793"
XROOT = "1-5759e988-bd862e3fe1be46a994272793"
XS = "53995c3f42cd8ad8"


def ctx(trace_id, span_id, sampled):
    return {"trace_id": trace_id, "span_id": span_id, "sampled": sampled}


class HttpGetter(Getter):
    """Header names match in any case, as in HTTP; every field is kept."""

    def get(self, carrier, key):
        vals = [v for n, v in carrier if n.lower() == key.lower()]
        return vals or None

    def keys(self, carrier):
        return [n for n, _ in carrier]


def otel_extract(prop, headers):
    sc = trace.get_current_span(prop.extract(headers, getter=HttpGetter())).get_span_context()
    if not sc.is_valid:
        return None
    return ctx(f"{sc.trace_id:032x}", f"{sc.span_id:016x}", bool(sc.trace_flags.sampled))


def otel_inject(prop, c):
    sc = trace.SpanContext(
        trace_id=int(c["trace_id"], 16),
        span_id=int(c["span_id"], 16),
        is_remote=True,
        trace_flags=trace.TraceFlags(1 if c["sampled"] else 0),
    )
    carrier = {}
    prop.inject(carrier, context=trace.set_span_in_context(trace.NonRecordingSpan(sc)))
    return sorted([n.lower(), v] for n, v in carrier.items())


# What tracesafe writes for a context (the Rust test checks its injector
# produces exactly this).
def ts_traceparent(c):
    return [["traceparent", f"00-{c['trace_id']}-{c['span_id']}-{'01' if c['sampled'] else '00'}"]]


def ts_b3(c):
    return [["b3", f"{c['trace_id']}-{c['span_id']}-{int(c['sampled'])}"]]


def ts_b3multi(c):
    return sorted(
        [
            ["x-b3-sampled", "1" if c["sampled"] else "0"],
            ["x-b3-spanid", c["span_id"]],
            ["x-b3-traceid", c["trace_id"]],
        ]
    )


def ts_jaeger(c):
    return [["uber-trace-id", f"{c['trace_id']}:{c['span_id']}:0:{'01' if c['sampled'] else '00'}"]]


def ts_xray(c):
    t = c["trace_id"]
    return [["x-amzn-trace-id", f"Root=1-{t[:8]}-{t[8:]};Parent={c['span_id']};Sampled={int(c['sampled'])}"]]


CONTEXTS = [
    ("sampled", ctx(T, S, True)),
    ("not sampled", ctx(T, S, False)),
    ("trace id with 64 leading zero bits", ctx(PADDED, S, True)),
    ("ids with leading zero bytes", ctx("00000000000000000000000000000a01", "000000000000000b", False)),
    ("X-Ray epoch-dated trace id", ctx(XT, XS, True)),
]

UPPER = "Uppercase hex is invalid in every format tracesafe reads (W3C, B3 and X-Ray spell ids in lowercase); OTel's int(x, 16) accepts it."
REPEATED = "A header sent twice is ambiguous; tracesafe ignores the set, OTel reads the first field."
DEFERRED_B3 = "B3 leaves the decision to the receiver when no sampling state is sent; tracesafe's sampler decides at this hop, OTel (no deferred state) reads it as sampled."
DEFERRED_MULTI = "B3 leaves the decision to the receiver when x-b3-sampled is absent; tracesafe's sampler decides at this hop, OTel reads it as not sampled."
STRICT_B3 = "The B3 text allows only 1, 0 and d (single) / 1, 0 and true/false (multi); tracesafe refuses other values rather than guess, OTel reads them as not sampled."
DEBUG = "Jaeger's debug flag (0x02) forces sampling; tracesafe reads it as sampled, OTel only looks at bit 0x01."
SAMPLED_Q = "AWS documents Sampled=? as 'the caller has not decided'; tracesafe's sampler decides at this hop, OTel refuses the whole header."
NO_SAMPLED = "Without a Sampled field the caller has not decided; tracesafe's sampler decides at this hop, OTel reads it as not sampled."

# (name, headers, tracesafe's result when it differs, why)
EXTRACT = {
    "tracecontext": [
        ("sampled", [["traceparent", f"00-{T}-{S}-01"]], None, None),
        ("not sampled", [["traceparent", f"00-{T}-{S}-00"]], None, None),
        ("sampled and random", [["traceparent", f"00-{T}-{S}-03"]], None, None),
        ("spaces around", [["traceparent", f" \t00-{T}-{S}-01 "]], None, None),
        ("future version with more fields", [["traceparent", f"cc-{T}-{S}-01-what-comes-next"]], None, None),
        ("version 00 with more fields", [["traceparent", f"00-{T}-{S}-01-x"]], None, None),
        ("version ff", [["traceparent", f"ff-{T}-{S}-01"]], None, None),
        ("uppercase trace id", [["traceparent", f"00-{T.upper()}-{S}-01"]], None, None),
        ("zero trace id", [["traceparent", f"00-{'0' * 32}-{S}-01"]], None, None),
        ("zero parent id", [["traceparent", f"00-{T}-{'0' * 16}-01"]], None, None),
        ("short parent id", [["traceparent", f"00-{T}-{S[:15]}-01"]], None, None),
        (
            "two traceparent fields",
            [["traceparent", f"00-{T}-{S}-01"], ["traceparent", f"00-{XT}-{S}-01"]],
            None,
            "W3C: more than one traceparent field is invalid. OTel reads the first.",
        ),
    ],
    "b3": [
        ("sampled", [["b3", f"{T}-{S}-1"]], None, None),
        ("not sampled", [["b3", f"{T}-{S}-0"]], None, None),
        ("debug", [["b3", f"{T}-{S}-d"]], None, None),
        ("with parent span id", [["b3", f"{T}-{S}-1-{PARENT}"]], None, None),
        ("64-bit trace id", [["b3", f"{T64}-{S}-1"]], None, None),
        ("no sampling state", [["b3", f"{T}-{S}"]], ctx(T, S, None), DEFERRED_B3),
        ("sampling state only", [["b3", "1"]], None, None),
        ("deny only", [["b3", "0"]], None, None),
        ("five fields", [["b3", f"{T}-{S}-1-{PARENT}-x"]], None, None),
        ("short span id", [["b3", f"{T}-{S[:8]}-1"]], None, None),
        ("zero trace id", [["b3", f"{'0' * 32}-{S}-1"]], None, None),
        ("uppercase trace id", [["b3", f"{T.upper()}-{S}-1"]], None, UPPER),
        ("sampled spelled true", [["b3", f"{T}-{S}-true"]], None, STRICT_B3),
        ("sampling state 2", [["b3", f"{T}-{S}-2"]], None, STRICT_B3),
        (
            "malformed parent span id",
            [["b3", f"{T}-{S}-1-xyz"]],
            None,
            "A malformed field makes the value unusable; OTel ignores the parent field.",
        ),
        ("two b3 fields", [["b3", f"{T}-{S}-1"], ["b3", f"{XT}-{S}-1"]], None, REPEATED),
    ],
    "b3multi": [
        ("sampled", [["x-b3-traceid", T], ["x-b3-spanid", S], ["x-b3-sampled", "1"]], None, None),
        ("not sampled", [["x-b3-traceid", T], ["x-b3-spanid", S], ["x-b3-sampled", "0"]], None, None),
        ("sampled true", [["x-b3-traceid", T], ["x-b3-spanid", S], ["x-b3-sampled", "true"]], None, None),
        ("debug flag", [["x-b3-traceid", T], ["x-b3-spanid", S], ["x-b3-flags", "1"]], None, None),
        (
            "debug flag overrides sampled 0",
            [["x-b3-traceid", T], ["x-b3-spanid", S], ["x-b3-sampled", "0"], ["x-b3-flags", "1"]],
            None,
            None,
        ),
        (
            "with parent span id",
            [["x-b3-traceid", T], ["x-b3-spanid", S], ["x-b3-parentspanid", PARENT], ["x-b3-sampled", "1"]],
            None,
            None,
        ),
        ("64-bit trace id", [["X-B3-TraceId", T64], ["X-B3-SpanId", S], ["X-B3-Sampled", "1"]], None, None),
        ("no span id", [["x-b3-traceid", T], ["x-b3-sampled", "1"]], None, None),
        ("no trace id", [["x-b3-spanid", S], ["x-b3-sampled", "1"]], None, None),
        ("no sampling state", [["x-b3-traceid", T], ["x-b3-spanid", S]], ctx(T, S, None), DEFERRED_MULTI),
        ("uppercase trace id", [["x-b3-traceid", T.upper()], ["x-b3-spanid", S], ["x-b3-sampled", "1"]], None, UPPER),
        ("sampled True", [["x-b3-traceid", T], ["x-b3-spanid", S], ["x-b3-sampled", "True"]], None, STRICT_B3),
        ("sampled yes", [["x-b3-traceid", T], ["x-b3-spanid", S], ["x-b3-sampled", "yes"]], None, STRICT_B3),
        ("flags 2", [["x-b3-traceid", T], ["x-b3-spanid", S], ["x-b3-flags", "2"]], None, STRICT_B3),
        (
            "two x-b3-traceid fields",
            [["x-b3-traceid", T], ["x-b3-traceid", XT], ["x-b3-spanid", S], ["x-b3-sampled", "1"]],
            None,
            REPEATED,
        ),
    ],
    "jaeger": [
        ("sampled", [["uber-trace-id", f"{T}:{S}:0:1"]], None, None),
        ("not sampled", [["uber-trace-id", f"{T}:{S}:0:0"]], None, None),
        ("sampled and debug", [["uber-trace-id", f"{T}:{S}:0:03"]], None, None),
        ("with parent span id", [["uber-trace-id", f"{T}:{S}:{PARENT}:1"]], None, None),
        ("leading zeros omitted", [["uber-trace-id", f"{T64}:abc:0:01"]], None, None),
        ("unknown flag bit only", [["uber-trace-id", f"{T}:{S}:0:4"]], None, None),
        ("three fields", [["uber-trace-id", f"{T}:{S}:0"]], None, None),
        ("zero trace id", [["uber-trace-id", f"0:{S}:0:1"]], None, None),
        ("zero span id", [["uber-trace-id", f"{T}:0:0:1"]], None, None),
        ("debug only", [["uber-trace-id", f"{T}:{S}:0:2"]], ctx(T, S, True), DEBUG),
        (
            "URL-encoded separators",
            [["uber-trace-id", f"{T}%3A{S}%3A0%3A1"]],
            ctx(T, S, True),
            "Jaeger clients URL-encode the value in HTTP headers; tracesafe decodes %3A, OTel does not.",
        ),
        ("uppercase trace id", [["uber-trace-id", f"{T.upper()}:{S}:0:1"]], None, UPPER),
        (
            "empty parent field",
            [["uber-trace-id", f"{T}:{S}::1"]],
            None,
            "The (deprecated) parent field must still be hex; OTel does not look at it.",
        ),
        (
            "flags wider than a byte",
            [["uber-trace-id", f"{T}:{S}:0:100"]],
            None,
            "Jaeger flags are one byte; OTel parses any hex number.",
        ),
        (
            "33-digit trace id",
            [["uber-trace-id", f"1{T}:{S}:0:1"]],
            None,
            None,
        ),
    ],
    "xray": [
        ("AWS example, sampled", [["X-Amzn-Trace-Id", f"Root={XROOT};Parent={XS};Sampled=1"]], None, None),
        ("not sampled", [["X-Amzn-Trace-Id", f"Root={XROOT};Parent={XS};Sampled=0"]], None, None),
        (
            "any order, spaces, Lineage and Self",
            [["x-amzn-trace-id", f"Self=1-67891234-12456789abcdef012345678; Sampled = 1 ;Parent={XS};Root={XROOT};Lineage=a87bd80c:1|68fd508a:5"]],
            None,
            None,
        ),
        ("Sampled=?", [["X-Amzn-Trace-Id", f"Root={XROOT};Parent={XS};Sampled=?"]], ctx(XT, XS, None), SAMPLED_Q),
        ("no Sampled", [["X-Amzn-Trace-Id", f"Root={XROOT};Parent={XS}"]], ctx(XT, XS, None), NO_SAMPLED),
        (
            "lowercase keys",
            [["X-Amzn-Trace-Id", f"root={XROOT};parent={XS};sampled=1"]],
            ctx(XT, XS, True),
            "tracesafe matches field names in any case, as the issue asks; OTel matches them exactly and finds no Root.",
        ),
        (
            "trailing semicolon",
            [["X-Amzn-Trace-Id", f"Root={XROOT};Parent={XS};Sampled=1;"]],
            ctx(XT, XS, True),
            "An empty segment carries nothing; OTel refuses the whole header over it.",
        ),
        ("no Parent", [["X-Amzn-Trace-Id", f"Root={XROOT};Sampled=1"]], None, None),
        ("no Root", [["X-Amzn-Trace-Id", f"Parent={XS};Sampled=1"]], None, None),
        ("Root version 2", [["X-Amzn-Trace-Id", f"Root=2-5759e988-bd862e3fe1be46a994272793;Parent={XS}"]], None, None),
        ("Root without dashes", [["X-Amzn-Trace-Id", f"Root=1-{XT};Parent={XS}"]], None, None),
        ("zero Root", [["X-Amzn-Trace-Id", f"Root=1-00000000-000000000000000000000000;Parent={XS};Sampled=1"]], None, None),
        ("Sampled=2", [["X-Amzn-Trace-Id", f"Root={XROOT};Parent={XS};Sampled=2"]], None, None),
        ("field without =", [["X-Amzn-Trace-Id", f"Root={XROOT};Parent={XS};Lineage"]], None, None),
        ("value with =", [["X-Amzn-Trace-Id", f"Root={XROOT};Parent={XS};Lineage=a=b"]], None, None),
        ("uppercase Root", [["X-Amzn-Trace-Id", f"Root={XROOT.upper()};Parent={XS};Sampled=1"]], None, UPPER),
        (
            "Parent with 0x prefix",
            [["X-Amzn-Trace-Id", f"Root={XROOT};Parent=0x{XS[:14]};Sampled=1"]],
            None,
            "Not 16 hex digits; OTel's int(x, 16) accepts a 0x prefix.",
        ),
        (
            "Root twice",
            [["X-Amzn-Trace-Id", f"Root=1-11111111-bd862e3fe1be46a994272793;Root={XROOT};Parent={XS};Sampled=1"]],
            None,
            "Two Roots are ambiguous; tracesafe ignores the header, OTel takes the last.",
        ),
        (
            "two X-Amzn-Trace-Id fields",
            [["X-Amzn-Trace-Id", f"Root={XROOT};Parent={XS};Sampled=1"], ["X-Amzn-Trace-Id", f"Root={XROOT};Parent={XS};Sampled=1"]],
            None,
            None,
        ),
    ],
}

PROPAGATORS = {
    "tracecontext": (TraceContextTextMapPropagator(), ts_traceparent),
    "b3": (B3SingleFormat(), ts_b3),
    "b3multi": (B3MultiFormat(), ts_b3multi),
    "jaeger": (JaegerPropagator(), ts_jaeger),
    "xray": (AwsXRayPropagator(), ts_xray),
}

PACKAGES = {
    "tracecontext": "opentelemetry-api",
    "b3": "opentelemetry-propagator-b3",
    "b3multi": "opentelemetry-propagator-b3",
    "jaeger": "opentelemetry-propagator-jaeger",
    "xray": "opentelemetry-propagator-aws-xray",
}


def extract_vector(prop, name, headers, ts, differs):
    otel = otel_extract(prop, headers)
    v = {"name": name, "headers": headers, "otel": otel}
    if differs is not None:
        if ts == otel:
            raise SystemExit(f"{name}: marked as differing but OTel agrees ({otel})")
        v["tracesafe"] = ts
        v["differs"] = differs
    return v


def main():
    os.makedirs(OUT, exist_ok=True)
    for fmt, (prop, writes) in PROPAGATORS.items():
        extract = [extract_vector(prop, *case) for case in EXTRACT[fmt]]
        inject = []
        for name, c in CONTEXTS:
            # What OTel writes, tracesafe must read as the same context.
            extract.append(extract_vector(prop, f"OTel inject: {name}", otel_inject(prop, c), None, None))
            ours = writes(c)
            reads = otel_extract(prop, ours)
            if reads != c:
                raise SystemExit(f"{fmt} {name}: OTel reads {reads} from {ours}")
            inject.append({"name": name, "context": c, "tracesafe_writes": ours, "otel_reads": reads})
        doc = {
            "about": f"Generated by filters/tests/data/interop/generate.py with {PACKAGES[fmt]} {version(PACKAGES[fmt])}; do not edit.",
            "format": fmt,
            "extract": extract,
            "inject": inject,
        }
        with open(os.path.join(OUT, f"{fmt}.json"), "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
