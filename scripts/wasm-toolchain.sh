#!/usr/bin/env bash
# Installs the Rust -> wasm32 toolchain onsale's edge and indexer build with, and skips
# every step that is already done, so it is cheap to run before each wasm build.
#
# rustup on our machines has no wasm32 standard library and cannot download one, so we use
# Debian's `rustc-web` (rustc and cargo 1.96 with the library source in `rust-web-src`),
# build std once per wasm target with `-Zbuild-std`, and install it into a private sysroot
# behind a `rustc` wrapper that adds `--sysroot`. After this script:
#
#   source "${ONSALE_WASM_HOME:-$HOME/.cache/onsale-wasm}/env"
#   CARGO_TARGET_DIR=target/wasm \
#     cargo build -p onsale-indexer --no-default-features --target wasm32-unknown-unknown
#
# (`env` puts the wrapper and Debian's cargo first in PATH; nothing else is needed. A target
# folder of its own keeps this rustc's artifacts from invalidating the native ones.)
#
# Settings (environment):
#   ONSALE_WASM_HOME  where the sysroot, the wrapper and the std build live
#                     (default ~/.cache/onsale-wasm)
#   WASM_TARGETS      targets to build std for
#                     (default: wasm32-unknown-unknown wasm32-wasip1 wasm32-wasip2)
#
# Not here yet: worker-build, wrangler, wasmtime (the edge adapters will add them).
set -euo pipefail

W=${ONSALE_WASM_HOME:-$HOME/.cache/onsale-wasm}
TARGETS=${WASM_TARGETS:-wasm32-unknown-unknown wasm32-wasip1 wasm32-wasip2}
SYS=$W/sysroot
PACKAGES=(rustc-web cargo-web rust-web-src rust-web-llvm lld-22 wasi-libc)
mkdir -p "$W"

# 1) Debian's toolchain: /usr/bin/rustc and /usr/bin/cargo 1.96, std sources under
#    /usr/lib/rustlib/src/rust, rust-lld (which needs lld-22 installed by name: the link
#    from rust-web-llvm is broken without it), wasm-component-ld, wasi-libc.
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
#    (a stamp file holds the `rustc -vV` it was built with).
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
for T in $TARGETS; do
  D=$SYS/lib/rustlib/$T/lib
  if [ -f "$D/.built-with" ] && [ "$(cat "$D/.built-with")" = "$RUSTC_VERSION" ]; then
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
    ;;
  esac
  echo "$RUSTC_VERSION" >"$D/.built-with"
done

# 4) The `rustc` wrapper that adds --sysroot, and an env file that puts it and Debian's
#    cargo first in PATH.
mkdir -p "$W/bin"
WRAPPER="#!/bin/sh
exec $RUSTC --sysroot $SYS \"\$@\""
if [ ! -x "$W/bin/rustc" ] || [ "$(cat "$W/bin/rustc")" != "$WRAPPER" ]; then
  printf '%s\n' "$WRAPPER" >"$W/bin/rustc"
  chmod +x "$W/bin/rustc"
fi
printf 'export PATH=%s:/usr/bin:$PATH\n' "$W/bin" >"$W/env"

"$W/bin/rustc" -V
echo "wasm-toolchain: ready; run: source $W/env" >&2
