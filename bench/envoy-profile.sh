#!/usr/bin/env bash
# Where a variant's CPU per request goes inside Envoy (docs/benchmark.md,
# "Where the time goes" → "Envoy"). Not part of `./build.sh bench`: run by
# hand after `./build.sh build` and `./build.sh bench` (dist/wasm-noop.wasm).
#
#   bench/envoy-profile.sh callgrind VARIANT [REQUESTS]   (default 2000)
#   bench/envoy-profile.sh cpu VARIANT [REQUESTS]         (default 10000, 5 times)
#
# VARIANT: bare, wasm-noop, tracesafe-min, tracesafe-full, or an ablation of
# tracesafe-full: tracesafe-full-noexport (tracesafe-full.json without
# `export`: no span is built, queued or sent), tracesafe-full-protobuf
# (spans exported as OTLP/HTTP protobuf instead of JSON). Each run starts its own Envoy with that one
# listener of envoy/bench/filter.yaml (--concurrency 1, the bench's node
# metadata and key) in front of envoy/bench/upstream.yaml, and sends the
# bench request (envoy/bench/request.json) with h2load over HTTP/1.1 after
# 500 warm-up requests: 4 connections under valgrind, 32 (the bench's) for
# CPU time, so that Envoy is as busy as in the bench.
#
# callgrind: Envoy under valgrind (V8 there can create only two wasm VMs:
# main thread and one worker, hence one listener per Envoy). Prints user-space
# instructions per request of each thread (thread 1 is Envoy's main thread,
# the busiest one its worker), then bench/callgrind-split.py's split of the
# worker's; the profiles stay in $OUT (default /tmp/envoy-profile).
# cpu: Envoy natively, pinned to the first allowed CPU (upstream and h2load
# on the second); prints user and kernel CPU µs per request of each thread
# from /proc/<pid>/task/*/stat (this VM exposes no hardware counters to perf)
# for 5 runs, the least loaded first.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:?usage: $0 callgrind|cpu VARIANT [REQUESTS]}
variant=${2:?variant}
case $mode in
  callgrind) requests=${3:-2000} connections=4 ;;
  cpu) requests=${3:-10000} connections=32 ;;
  *) echo "mode: callgrind or cpu" >&2; exit 2 ;;
esac
out=${OUT:-/tmp/envoy-profile}
mkdir -p "$out"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The real binary (.venv/bin/envoy is a Python wrapper valgrind cannot follow).
envoy=${ENVOY_REAL:-$(ls .venv/lib/python3*/site-packages/envoy/_bin/envoy)}
cpus=$(grep Cpus_allowed_list /proc/self/status | awk '{print $2}')
filter_cpu=$(python3 -c "import sys; print(sys.argv[1].split(',')[0].split('-')[0])" "$cpus")
load_cpu=$(python3 -c "
import sys; c=sys.argv[1].replace('-', ',').split(','); print(c[1] if len(c) > 1 else c[0])" "$cpus")
# README's published test key k1 (tests/common/support.rs BENCH_ENV).
export TRACESAFE_BENCH_KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=

#   start NAME CONFIG [PREFIX...]: starts Envoy, waits until ready, sets $admin.
start() {
  local name=$1 config=$2
  shift 2
  "$@" "$envoy" -c "$config" --concurrency 1 --disable-hot-restart -l warning \
    --admin-address-path "$work/$name.admin" >"$out/$name.log" 2>&1 &
  pids+=($!)
  eval "${name}_pid=$!"
  for _ in $(seq 1200); do
    if [ -s "$work/$name.admin" ] &&
       curl -sf "http://$(cat "$work/$name.admin")/ready" >/dev/null; then
      admin=$(cat "$work/$name.admin")
      return
    fi
    sleep 0.5
  done
  echo "$name: not ready" >&2; cat "$out/$name.log" >&2; exit 1
}
port_of() {
  curl -s "http://$1/listeners?format=json" | python3 -c "
import json, sys
for l in json.load(sys.stdin)['listener_statuses']:
    if l['name'] == sys.argv[1]: print(l['local_address']['socket_address']['port_value'])" "$2"
}

start upstream envoy/bench/upstream.yaml taskset -c "$load_cpu"
upstream_port=$(port_of "$admin" upstream)

# filter.yaml with only $variant's listener, as tests/bench.rs fills it.
python3 - "$variant" "$upstream_port" "$work/envoy.yaml" <<'EOF'
import json, sys, yaml
variant, port, dest = sys.argv[1:]
listener = "tracesafe-full" if variant.startswith("tracesafe-full") else variant
def plugin(name, wasm, vm_id, config):
    return json.dumps({"name": "envoy.filters.http.wasm", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
        "config": {"name": name, "root_id": "tracesafe",
            "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue",
                              "value": json.dumps(config)},
            "vm_config": {"runtime": "envoy.wasm.runtime.v8", "vm_id": vm_id,
                "code": {"local": {"filename": wasm}},
                "environment_variables": {"host_env_keys": ["TRACESAFE_BENCH_KEY"]}}}}})
policy = lambda p: json.load(open(f"envoy/bench/{p}.json"))
full = policy("tracesafe-full")
if variant == "tracesafe-full-noexport":
    del full["export"]
elif variant == "tracesafe-full-protobuf":
    full["export"]["protocol"] = "http/protobuf"
elif variant not in ("bare", "wasm-noop", "tracesafe-min", "tracesafe-full"):
    sys.exit(f"unknown variant {variant}")
text = open("envoy/bench/filter.yaml").read()
for k, v in {
    "WASM_NOOP": plugin("wasm-noop", "dist/wasm-noop.wasm", "wasm-noop", {}),
    "TRACESAFE_MIN": plugin("tracesafe-min", "dist/tracesafe.wasm", "tracesafe", policy("tracesafe-min")),
    "TRACESAFE_FULL": plugin("tracesafe-full", "dist/tracesafe.wasm", "tracesafe", full),
    "LUA_SOURCE": '""', "NATIVE_REMOVALS": "[]", "UPSTREAM_PORT": port,
}.items():
    text = text.replace("{{%s}}" % k, v)
cfg = yaml.safe_load(text)
cfg["static_resources"]["listeners"] = [
    l for l in cfg["static_resources"]["listeners"] if l["name"] == listener]
json.dump(cfg, open(dest, "w"))
EOF

case $mode in
  callgrind)
    start envoy "$work/envoy.yaml" valgrind --tool=callgrind --instr-atstart=no \
      --smc-check=all-non-file --separate-threads=yes \
      --callgrind-out-file="$out/$variant.%p" ;;
  cpu) start envoy "$work/envoy.yaml" taskset -c "$filter_cpu" ;;
esac
port=$(port_of "$admin" "$(python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['static_resources']['listeners'][0]['name'])" "$work/envoy.yaml")")

load() {
  python3 - "$1" "$port" "$connections" <<'EOF' >"$work/h2load.args"
import json, sys
n, port, c = sys.argv[1:]
r = json.load(open("envoy/bench/request.json"))
args = ["--h1", "-n", n, "-c", c, "-t", "1", "-H", f"host: {r['authority']}"]
for k, v in r["headers"]:
    args += ["-H", f"{k}: {v}"]
args.append(f"http://127.0.0.1:{port}{r['path']}")
print("\0".join(args), end="")
EOF
  local args=()
  while IFS= read -r -d '' a; do args+=("$a"); done < <(cat "$work/h2load.args"; printf '\0')
  taskset -c "$load_cpu" h2load "${args[@]}" | grep -E '^requests:'
}

# utime stime (ticks) of each thread: "name utime stime" lines.
ticks() {
  for t in /proc/"$envoy_pid"/task/*; do
    printf '%s %s\n' "$(tr ' ' _ <"$t/comm")" "$(awk '{print $14, $15}' "$t/stat")"
  done | sort
}

load 500
case $mode in
  callgrind)
    callgrind_control -i on "$envoy_pid" >/dev/null
    callgrind_control -z "$envoy_pid" >/dev/null
    load "$requests"
    callgrind_control -d "$variant" "$envoy_pid" >/dev/null
    callgrind_control -i off "$envoy_pid" >/dev/null
    echo "$variant: user-space instructions per request, by thread (callgrind Ir)"
    worker= most=0
    for f in "$out/$variant.$envoy_pid".1-*; do
      ir=$(awk '/^summary:/{print $2; exit}' "$f")
      [ "${ir:-0}" -ge "$requests" ] || continue
      printf '  %-40s %12.0f\n' "$(basename "$f")" "$(echo "$ir / $requests" | bc -l)"
      if [ "$ir" -gt "$most" ]; then worker=$f most=$ir; fi
    done
    bench/callgrind-split.py "$worker" "$requests" ;;
  cpu)
    # Other jobs on the machine only add CPU time: of 5 runs, the one with
    # the least user + kernel time is kept.
    hz=$(getconf CLK_TCK)
    echo "$variant: CPU µs per request, user and kernel, by thread (5 runs of $requests)"
    for run in 1 2 3 4 5; do
      ticks >"$work/before"
      load "$requests" >/dev/null
      ticks >"$work/after"
      join "$work/before" "$work/after" | awk -v n="$requests" -v hz="$hz" -v run="$run" '
        { u = ($4 - $2) * 1e6 / hz / n; k = ($5 - $3) * 1e6 / hz / n; U += u; K += k
          if (u + k > 0) t = t sprintf("  %s %.1f %.1f", $1, u, k) }
        END { printf "%.1f run %d: all %.1f %.1f %s\n", U + K, run, U, K, t }'
    done | sort -n | cut -d' ' -f2- | sed '1s/^/kept /' ;;
esac
curl -s "http://$admin/stats" | grep -E 'wasmcustom.tracesafe.(requests|spans_exported)|downstream_rq_completed' || true
