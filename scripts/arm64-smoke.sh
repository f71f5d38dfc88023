#!/usr/bin/env bash
# arm64 smoke tests (tests/arm64.rs) under qemu-user, on a statically linked
# build of `bootstrap`. qemu-user on the build machines hangs when a
# dynamically linked aarch64 program starts a thread, and the function starts
# threads (parallel connection set-up, init prefetch); a static binary runs
# fine. The shipped binary (scripts/build.sh arm64) stays dynamically linked:
# this build, in target/arm64-static/, only exists for the smoke tests.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/arm64-smoke.sh [-h|--help]

Builds `bootstrap` for aarch64-unknown-linux-gnu with
`-C target-feature=+crt-static` into ${CARGO_TARGET_DIR:-target}/arm64-static/, checks it is
static, then runs `cargo test --release --test arm64 -- --ignored` with
BOOTSTRAP_BIN set to it and BOOTSTRAP_RUNNER=qemu-aarch64.

Needs the cross toolchain scripts/build.sh uses (rustup's target, or
Debian's rustc with libstd-rust-web-dev:arm64), gcc-aarch64-linux-gnu,
libc6-dev-arm64-cross (its libc.a) and qemu-user. Run
`scripts/build.sh arm64` once first to have them installed.
EOF
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) echo "arm64-smoke.sh: error: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac

die() { echo "arm64-smoke.sh: error: $*" >&2; exit 1; }
note() { echo "arm64-smoke.sh: $*" >&2; }

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
triple=aarch64-unknown-linux-gnu
target_dir=${CARGO_TARGET_DIR:-$repo_root/target}/arm64-static

command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 \
  || die "aarch64-linux-gnu-gcc not found (apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross)"
[ -f /usr/aarch64-linux-gnu/lib/libc.a ] \
  || die "no static glibc for aarch64 (apt-get install libc6-dev-arm64-cross)"
command -v qemu-aarch64 >/dev/null 2>&1 || die "qemu-aarch64 not found (apt-get install qemu-user)"

envs=(
  "CARGO_TARGET_DIR=$target_dir"
  "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc"
  "CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc"
  # Only the aarch64 target: host build scripts stay as they are.
  "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS=-C target-feature=+crt-static"
)
if command -v rustup >/dev/null 2>&1 && rustup target list --installed 2>/dev/null | grep -qx "$triple"; then
  note "building $triple (static) with rustup's target"
elif [ -x /usr/bin/rustc ] && [ -d "/usr/lib/rustlib/$triple/lib" ]; then
  envs+=("RUSTC=/usr/bin/rustc")
  note "building $triple (static) with Debian's $(/usr/bin/rustc --version | cut -d' ' -f1-2)"
else
  die "no Rust toolchain for $triple: run scripts/build.sh arm64 once (it installs one)"
fi

env "${envs[@]}" cargo build --release --locked --bin bootstrap --target "$triple" \
  || die "cargo build for $triple failed"
bin=$target_dir/$triple/release/bootstrap
[ -x "$bin" ] || die "$bin was not built"
if readelf -l "$bin" | grep -q 'INTERP'; then
  die "$bin is dynamically linked; qemu-user would hang on its first thread"
fi
note "static $triple binary: $bin"

BOOTSTRAP_BIN=$bin BOOTSTRAP_RUNNER=qemu-aarch64 \
  cargo test --locked --release --test arm64 -- --ignored
