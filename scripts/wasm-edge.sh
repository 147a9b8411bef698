#!/usr/bin/env bash
# Builds, lints and runs the edge's wasm adapters with the toolchain that
# scripts/wasm-toolchain.sh installs (run that first).
#
#   scripts/wasm-edge.sh build [cloudflare|spin|all]   release builds, then their sizes
#   scripts/wasm-edge.sh clippy                         clippy -D warnings, both wasm targets
#   scripts/wasm-edge.sh serve cloudflare|spin --coordinator URL --snapshots URL [--listen IP:PORT]
#                       [--live-url URL] [--queue-key KEY] [--state DIR]
#
# build cloudflare: worker-build (cargo, wasm-bindgen, wasm-opt, esbuild) into
#   edge/cloudflare/build/, the bundle wrangler.toml names. wrangler runs this as its build
#   command, so it skips worker-build when cargo's wasm did not change.
# build spin: the wasi:http component target/wasm/wasm32-wasip2/release/onsale_edge_spin.wasm,
#   the file spin.toml names.
# Sizes: each wasm raw and gzipped, and the Cloudflare bundle gzipped, which must stay
#   within the Workers free plan's 3 MB compressed limit (the paid plan allows 10 MB): the
#   build fails above it.
# serve cloudflare: `wrangler dev --local` (workerd on this machine, nothing deployed), the
#   variables from the flags, local cache state in a fresh temporary folder unless --state.
# serve spin: `wasmtime serve` (the Spin CLI is not on the registries we reach); the
#   component gets the settings as environment variables, as spin.toml gives them.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
W=${ONSALE_WASM_HOME:-$HOME/.cache/onsale-wasm}
if [ ! -f "$W/env" ]; then
  echo "wasm-edge: no wasm toolchain in $W; run scripts/wasm-toolchain.sh first" >&2
  exit 2
fi
# shellcheck disable=SC1091
source "$W/env"
export CARGO_TARGET_DIR=$REPO/target/wasm
unset RUSTC RUSTFLAGS

# Artifacts built against an earlier wasm std do not link with a rebuilt one (and cargo
# does not notice): start the wasm targets afresh when wasm-toolchain.sh rebuilt std.
STD_STAMP=$(cat "$W"/sysroot/lib/rustlib/wasm32-*/lib/.built-with | sha256sum | cut -d' ' -f1)
if [ -d "$CARGO_TARGET_DIR" ] && [ "$(cat "$CARGO_TARGET_DIR/.wasm-std" 2>/dev/null)" != "$STD_STAMP" ]; then
  rm -rf "$CARGO_TARGET_DIR"/wasm32-*
fi
mkdir -p "$CARGO_TARGET_DIR"
echo "$STD_STAMP" >"$CARGO_TARGET_DIR/.wasm-std"

# Cloudflare's limit on a Worker's compressed size, free plan (paid: 10 MB).
WORKER_LIMIT=$((3 * 1000 * 1000))

gzipped() { gzip -9 -c "$@" | wc -c; }
kb() { echo "$(($1 / 1024)) KiB"; }

build_cloudflare() {
  local crate=$REPO/edge/cloudflare out=$REPO/edge/cloudflare/build
  local wasm=$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/onsale_edge_cloudflare.wasm
  # The cargo step exactly as worker-build runs it (same env), so this is a no-op for it.
  (cd "$crate" && WASM_BINDGEN_USE_JS_SYS=1 cargo build --lib --release --target wasm32-unknown-unknown)
  local stamp
  stamp=$(sha256sum "$wasm" | cut -d' ' -f1)
  if [ -f "$out/index.js" ] && [ -f "$out/index_bg.wasm" ] && [ "$(cat "$out/.built-from" 2>/dev/null)" = "$stamp" ]; then
    echo "wasm-edge: Cloudflare bundle up to date" >&2
  else
    (cd "$crate" && worker-build --release)
    echo "$stamp" >"$out/.built-from"
  fi
  local raw zipped bundle
  raw=$(wc -c <"$out/index_bg.wasm")
  zipped=$(gzipped "$out/index_bg.wasm")
  bundle=$(cat "$out/index.js" "$out/index_bg.wasm" | gzip -9 | wc -c)
  echo "wasm size: cloudflare index_bg.wasm (after wasm-opt) $(kb "$raw"), gzipped $(kb "$zipped"); worker bundle gzipped $(kb "$bundle") of the 3 MB free-plan limit (10 MB paid)"
  if [ "$bundle" -gt "$WORKER_LIMIT" ]; then
    echo "wasm-edge: the Worker is over Cloudflare's 3 MB compressed limit (free plan)" >&2
    exit 1
  fi
}

build_spin() {
  local wasm=$CARGO_TARGET_DIR/wasm32-wasip2/release/onsale_edge_spin.wasm
  (cd "$REPO/edge/spin" && cargo build --release --target wasm32-wasip2)
  local raw zipped
  raw=$(wc -c <"$wasm")
  zipped=$(gzipped "$wasm")
  # binaryen's wasm-opt reads core modules, not components: rustc's size options (opt-level
  # "s", LTO, strip) are the whole optimisation here.
  echo "wasm size: spin onsale_edge_spin.wasm (component, opt-level s + LTO, no wasm-opt) $(kb "$raw"), gzipped $(kb "$zipped")"
}

clippy() {
  # clippy-driver runs the compiler in its own process, not through the rustc wrapper:
  # SYSROOT points it at the wasm std.
  export SYSROOT=$W/sysroot
  (cd "$REPO/edge/cloudflare" && WASM_BINDGEN_USE_JS_SYS=1 cargo clippy --release --target wasm32-unknown-unknown -- -D warnings)
  (cd "$REPO/edge/spin" && cargo clippy --release --target wasm32-wasip2 -- -D warnings)
}

serve() {
  local adapter=${1:-} coordinator="" snapshots="" listen="" state="" live_url="" queue_key="" region="" search_origin=""
  shift || true
  while [ $# -gt 0 ]; do
    case $1 in
    --coordinator) coordinator=$2 ;;
    --live-url) live_url=$2 ;;
    --queue-key) queue_key=$2 ;;
    --region) region=$2 ;;
    --search-origin) search_origin=$2 ;;
    --snapshots) snapshots=$2 ;;
    --listen) listen=$2 ;;
    --state) state=$2 ;;
    *) echo "wasm-edge: unknown flag $1" >&2 && exit 2 ;;
    esac
    shift 2
  done
  if [ -z "$coordinator" ] || [ -z "$snapshots" ]; then
    echo "wasm-edge: serve needs --coordinator URL and --snapshots URL" >&2
    exit 2
  fi
  case $adapter in
  cloudflare)
    listen=${listen:-127.0.0.1:8787}
    if [ -z "$state" ]; then
      state=$(mktemp -d)
      trap 'rm -rf "$state"' EXIT
    fi
    cd "$REPO"
    # Not exec'd, so the trap can remove the state folder; wrangler's children (workerd)
    # stop with it.
    wrangler dev --config wrangler.toml --local \
      --ip "${listen%:*}" --port "${listen##*:}" --inspector-port 0 \
      --persist-to "$state" --show-interactive-dev-session=false \
      --var "ONSALE_COORDINATOR:$coordinator" --var "ONSALE_SNAPSHOTS:$snapshots" \
      --var "ONSALE_LIVE_URL:$live_url" --var "ONSALE_QUEUE_KEY:$queue_key" \
      --var "ONSALE_REGION:$region" --var "ONSALE_SEARCH_ORIGIN:$search_origin"
    ;;
  spin)
    listen=${listen:-127.0.0.1:3000}
    # -Scli: the component reads its settings from wasi:cli's environment; wasi:http
    # (incoming and outgoing) comes with `serve`.
    exec wasmtime serve -Scli --addr "$listen" \
      --env "ONSALE_COORDINATOR=$coordinator" --env "ONSALE_SNAPSHOTS=$snapshots" \
      --env "ONSALE_LIVE_URL=$live_url" --env "ONSALE_QUEUE_KEY=$queue_key" \
      --env "ONSALE_REGION=$region" --env "ONSALE_SEARCH_ORIGIN=$search_origin" \
      "$CARGO_TARGET_DIR/wasm32-wasip2/release/onsale_edge_spin.wasm"
    ;;
  *)
    echo "wasm-edge: serve cloudflare|spin" >&2
    exit 2
    ;;
  esac
}

command=${1:-}
shift || true
case $command in
build)
  case ${1:-all} in
  cloudflare) build_cloudflare ;;
  spin) build_spin ;;
  all) build_cloudflare && build_spin ;;
  *) echo "wasm-edge: build [cloudflare|spin|all]" >&2 && exit 2 ;;
  esac
  ;;
clippy) clippy ;;
serve) serve "$@" ;;
*)
  sed -n '2,8p' "$0" >&2
  exit 2
  ;;
esac
