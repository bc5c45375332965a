#!/usr/bin/env python3
"""Splits a callgrind profile of Envoy's worker thread (written by
`./build.sh envoy-profile callgrind`, tests/envoy_profile.rs) into: the
wasm code's own instructions, Envoy's side of the calls the wasm code makes
(host calls, grouped by callee), the calls from Envoy into the VM, and the
rest. Per request.

The Envoy binary is stripped, so functions are addresses. Code outside any
ELF text section has no object (callgrind's `???`): V8's JIT code (the
compiled wasm, unnamed, high addresses) and Envoy's own tcmalloc (its
`google_malloc` section, inside the binary's mapping), told apart by address.

    tests/bench/callgrind_split.py FILE REQUESTS
"""
import collections
import re
import sys

REF = re.compile(r"\((\d+)\)(?: (.*))?")
JIT_FLOOR = 1 << 32  # V8's code space is mapped far above the binary


def load(path):
    names, objects, fn_ob = {}, {}, {}
    own = collections.Counter()
    calls = collections.defaultdict(lambda: [0, 0])
    ob = fn = cfn = None
    pending = 0

    def ref(value, table):
        m = REF.match(value)
        if not m:
            return value
        if m.group(2) is not None:
            table[int(m.group(1))] = m.group(2)
        return int(m.group(1))

    for line in open(path):
        if line[0].isdigit() or line[0] in "+-*":
            cost = int(line.split()[1])
            if pending:
                calls[(fn, cfn)][0] += pending
                calls[(fn, cfn)][1] += cost
                pending = 0
            else:
                own[fn] += cost
        elif line.startswith("ob="):
            ob = ref(line[3:].strip(), objects)
        elif line.startswith("cob="):
            ref(line[4:].strip(), objects)
        elif line.startswith("fn="):
            fn = ref(line[3:].strip(), names)
            fn_ob[fn] = ob
        elif line.startswith("cfn="):
            cfn = ref(line[4:].strip(), names)
        elif line.startswith("calls="):
            pending = int(line[6:].split()[0])

    def where(f):
        obj = objects.get(fn_ob.get(f), "???").rsplit("/", 1)[-1]
        if obj != "???":
            return obj
        name = names.get(f, "")
        jit = name.startswith("0x") and int(name, 16) >= JIT_FLOOR
        return "wasm" if jit else "envoy"

    return names, own, calls, where


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    names, own, calls, where = load(path)
    total = sum(own.values())
    wasm = sum(c for f, c in own.items() if where(f) == "wasm")
    out_of_wasm = collections.defaultdict(lambda: [0, 0])
    into_wasm = collections.defaultdict(lambda: [0, 0])
    for (a, b), (count, cost) in calls.items():
        if where(a) == "wasm" and where(b) != "wasm":
            out_of_wasm[b][0] += count
            out_of_wasm[b][1] += cost
        elif where(a) != "wasm" and where(b) == "wasm":
            into_wasm[b][0] += count
            into_wasm[b][1] += cost
    host = sum(c for _, c in out_of_wasm.values())

    def row(label, cost, count=None):
        per = f"{count / n:8.2f}/req" if count is not None else " " * 12
        print(f"  {label:<44} {per} {cost / n:10.0f}")

    print(f"{path}: Ir per request ({n} requests)")
    row("worker thread, all", total)
    row("wasm code (JIT, own instructions)", wasm)
    row("Envoy called from wasm code (inclusive)", host)
    row("rest (Envoy, V8 entry, libc)", total - wasm - host)
    print("  calls from wasm code into Envoy, by callee (inclusive):")
    for f, (count, cost) in sorted(out_of_wasm.items(), key=lambda kv: -kv[1][1]):
        if cost >= n * 100:
            row(f"  {names.get(f, f)}", cost, count)
            inner = [(b, c) for (a, b), c in calls.items() if a == f]
            for b, (count2, cost2) in sorted(inner, key=lambda t: -t[1][1]):
                if cost2 >= n * 100:
                    row(f"    -> {names.get(b, b)}", cost2, count2)
    print("  calls from Envoy into wasm code (VM entries, inclusive):")
    for f, (count, cost) in sorted(into_wasm.items(), key=lambda kv: -kv[1][1]):
        if cost >= n * 100:
            row(f"  {names.get(f, f)}", cost, count)


main()
