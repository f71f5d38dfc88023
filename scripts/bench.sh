#!/usr/bin/env bash
# Benchmark (issue 7): sizes, dependency count, cold start, first and warm
# invocation latency and peak RSS of the release `bootstrap`, next to a floor
# runtime, and (issue 14) throughput with 1, 4 and 16 workers, against local
# stand-ins only. Prints a markdown table with PASS/FAIL/SKIP per budget;
# writes target/bench/results.{md,json} (${CARGO_TARGET_DIR}/bench when that
# is set).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/bench.sh [-h|--help]

Builds in release `bootstrap` and the `floor` and `bench` examples, builds the
zips with scripts/build.sh (x86_64 always; arm64 only when a cross toolchain
is already installed: nothing is installed from here), counts the crates of
the normal dependency tree, then runs the bench: the real `bootstrap` as a
Lambda runtime under a fake Runtime API, with the Cresta stand-in and the mock
Secrets Manager, all on 127.0.0.1, next to the floor (tests/tools/floor.rs,
a runtime that only answers `{}`), measured in the same run. A separate
section runs the function with AWS_LAMBDA_MAX_CONCURRENCY=1, 4 and 16 against
a stand-in that answers in 50 ms: invocations per second of each (budget: 4
workers >= 3.5x one) and the peak RSS with 16 (budget: <= 12 MiB).

Output: the table on stdout, and in target/bench/:
  results.md     the table, with what each figure is
  results.json   the same figures, budgets and results as JSON
  samples.json   every raw sample (microseconds)
  function.log   what the warm function logged
  network.md     the network-mode tables, plain HTTP and TLS (round trips; see below)
  network.json   the same figures as JSON
  build.log      output of the builds

Exit status: 0 when every budget passes; 1 when one fails or cannot be
measured (SKIP, e.g. arm64 sizes without a cross toolchain) or the bench
could not run.

Environment:
  BENCH_COLD_RUNS  cold starts of each program (default 100; at least 30 is meaningful)
  BENCH_WARM_RUNS  measured warm invocations of each program (default 1000)
  BENCH_NO_ARM64=1 do not build arm64 even when the toolchain is present
  BENCH_CONCURRENCY_WAVES  events per worker in the concurrency section (default 40)
  BENCH_NO_NET=1   skip the network mode (tests/tools/bench_net.rs)
  BENCH_NET_COLD_RUNS, BENCH_NET_PREFETCH_RUNS, BENCH_NET_IDLE_RUNS
                   network mode: cold starts of each kind (10), prefetching
                   inits (5), processes idled 20 s then 60 s (3)
  BENCH_NET_TLS    network mode transports: unset runs plain HTTP then TLS
                   (the idle rows over TLS only); 1 TLS only; 0 plain HTTP only
EOF
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) echo "bench.sh: error: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac

die() { echo "bench.sh: error: $*" >&2; exit 1; }
note() { echo "bench.sh: $*" >&2; }

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
target_dir=${CARGO_TARGET_DIR:-$repo_root/target}
case "$target_dir" in /*) ;; *) target_dir=$repo_root/$target_dir ;; esac
out_dir=$target_dir/bench
mkdir -p "$out_dir"
build_log=$out_dir/build.log
: > "$build_log"

run_logged() {
  "$@" >>"$build_log" 2>&1 || { tail -n 30 "$build_log" >&2; die "'$*' failed (full output: $build_log)"; }
}

note "building bootstrap, floor and bench (release)"
run_logged cargo build --release --locked --bin bootstrap --example floor --example bench
bootstrap_bin=$target_dir/release/bootstrap
floor_bin=$target_dir/release/examples/floor
bench_bin=$target_dir/release/examples/bench

# Is an arm64 cross toolchain installed? The same two routes build.sh takes,
# checked without installing anything (build.sh would install what is missing).
arm64_toolchain() {
  local triple=aarch64-unknown-linux-gnu
  [ "$(rustc -vV | sed -n 's/^host: //p')" = "$triple" ] && return 0
  command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || { echo "no aarch64-linux-gnu-gcc"; return 1; }
  if command -v rustup >/dev/null 2>&1 && rustup target list --installed 2>/dev/null | grep -qx "$triple"; then
    return 0
  fi
  if [ -x /usr/bin/rustc ] && [ -d "/usr/lib/rustlib/$triple/lib" ] \
    && [ -f /usr/aarch64-linux-gnu/include/stdio.h ] && command -v qemu-aarch64 >/dev/null 2>&1; then
    return 0
  fi
  echo "no rustup target $triple nor Debian rustc with its std"
  return 1
}

# Size after strip (a no-op when already stripped); the tool for the arch.
stripped_size() {
  local bin=$1 tool=$2 tmp
  if command -v "$tool" >/dev/null 2>&1; then
    tmp=$(mktemp "$out_dir/.stripped.XXXXXX")
    "$tool" -o "$tmp" "$bin" || { rm -f "$tmp"; die "$tool failed on $bin"; }
    stat -c %s "$tmp"
    rm -f "$tmp"
  else
    note "$tool not found; reporting $bin as built (the release profile strips it)"
    stat -c %s "$bin"
  fi
}

version=$(tr -d '[:space:]' < VERSION)
# Sizes of one arch's artifacts into BENCH_<ARCH>_{BIN,ZIP}_BYTES.
measure_arch() {
  local arch=$1 var=$2 strip_tool=$3 bin zip
  note "building the $arch zip (scripts/build.sh $arch --no-sbom)"
  run_logged scripts/build.sh "$arch" --no-sbom
  bin=$(cat "dist/bootstrap-$arch.path")
  zip=dist/connect-pstn-transfer-$version-$arch.zip
  [ -f "$zip" ] || die "build.sh wrote no $zip"
  export "BENCH_${var}_BIN_BYTES=$(stripped_size "$bin" "$strip_tool")"
  export "BENCH_${var}_ZIP_BYTES=$(stat -c %s "$zip")"
}

measure_arch x86_64 X86_64 strip
if [ "${BENCH_NO_ARM64:-}" = 1 ]; then
  export BENCH_ARM64_BIN_BYTES="n/a (BENCH_NO_ARM64=1)" BENCH_ARM64_ZIP_BYTES="n/a (BENCH_NO_ARM64=1)"
elif why=$(arm64_toolchain); then
  measure_arch arm64 ARM64 aarch64-linux-gnu-strip
else
  note "arm64 skipped: $why"
  export BENCH_ARM64_BIN_BYTES="n/a (no cross toolchain)" BENCH_ARM64_ZIP_BYTES="n/a (no cross toolchain)"
fi

# Distinct name+version in the normal dependency tree, our crate excluded.
crates=$(cargo tree --locked -e normal --prefix none --no-dedupe 2>>"$build_log" \
  | awk 'NF >= 2 && $1 != "connect-pstn-transfer" { print $1, $2 }' | sort -u | wc -l) \
  || die "cargo tree failed (see $build_log)"
export BENCH_CRATES=$crates

commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  commit="$commit (with uncommitted changes)"
fi
export BENCH_COMMIT=$commit

note "running the bench (${BENCH_COLD_RUNS:-100} cold starts, ${BENCH_WARM_RUNS:-1000} warm invocations of each program)"
status=0
BOOTSTRAP_BIN=$bootstrap_bin FLOOR_BIN=$floor_bin BENCH_OUT_DIR=$out_dir "$bench_bin" || status=1

# Network mode (issue 13): the stand-ins behind a round-trip emulator
# (tests/tools/bench_net.rs); its own table in target/bench/network.md.
if [ "${BENCH_NO_NET:-}" != 1 ]; then
  note "building bench_net (release)"
  run_logged cargo build --release --locked --example bench_net
  note "running the network-mode bench (about 2.5 minutes: plain HTTP and TLS, idling 20 s and 60 s over TLS)"
  echo
  BOOTSTRAP_BIN=$bootstrap_bin FLOOR_BIN=$floor_bin BENCH_OUT_DIR=$out_dir \
    "$target_dir/release/examples/bench_net" || status=1
fi
exit "$status"
