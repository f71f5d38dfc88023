#!/usr/bin/env bash
# Fuzz every cargo-fuzz target in tests/fuzz for a fixed time each, one after
# the other, and print one summary line per target. Exits non-zero when any
# target crashed (panic, failed invariant, timeout or out-of-memory).
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
       scripts/fuzz.sh --list
       scripts/fuzz.sh -h|--help

Runs each cargo-fuzz target of tests/fuzz (all of them unless TARGETs are
named) for SECONDS seconds (default 600), sequentially, with libFuzzer's
-max_total_time. Needs the nightly toolchain (`rustup toolchain install
nightly`); installs cargo-fuzz (`cargo install cargo-fuzz --locked`) when
it is missing.

Seeds are read from tests/fuzz/corpus/<target>/ (committed, never written);
new corpus entries go to target/fuzz-corpus/<target>/, logs to
target/fuzz-logs/<target>.log, and crash inputs to tests/fuzz/artifacts/<target>/
(both ignored by git). Save a crash worth keeping, minimized
(`cargo +nightly fuzz tmin --fuzz-dir tests/fuzz -s none <target> <file>`),
under tests/fuzz/regressions/<target>/.

Environment:
  FUZZ_SANITIZER   cargo-fuzz sanitizer (default: none; the code under test
                   is safe Rust, so panics are what matter and ASan would
                   only halve the speed)
  FUZZ_ARGS   extra libFuzzer arguments, e.g. "-max_len=8192"

Replay a saved reproducer (FUZZ_STRICT=1 turns off the skipping of known,
not yet fixed bugs that event_config does while they are present):
  FUZZ_STRICT=1 cargo +nightly fuzz run --fuzz-dir tests/fuzz -s none \
      event_config tests/fuzz/regressions/event_config/<file>
USAGE
}

die() { echo "fuzz.sh: error: $*" >&2; exit 2; }

cd "$(dirname "${BASH_SOURCE[0]}")/.."
FUZZ_DIR=tests/fuzz
SANITIZER=${FUZZ_SANITIZER:-none}

targets_in_manifest() {
  # The [[bin]] names of the fuzz crate, in file order.
  awk '/^\[\[bin\]\]/ { bin = 1; next } bin && /^name *=/ { gsub(/.*= *"|".*/, ""); print; bin = 0 }' \
    "$FUZZ_DIR/Cargo.toml"
}

seconds=""
list=0
selected=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --list) list=1 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *)
      if [ -z "$seconds" ] && [ ${#selected[@]} -eq 0 ] && [[ "$1" =~ ^[0-9]+$ ]]; then
        seconds=$1
      else
        selected+=("$1")
      fi
      ;;
  esac
  shift
done

mapfile -t all_targets < <(targets_in_manifest)
[ ${#all_targets[@]} -gt 0 ] || die "no [[bin]] targets in $FUZZ_DIR/Cargo.toml"

if [ "$list" = 1 ]; then
  printf '%s\n' "${all_targets[@]}"
  exit 0
fi

seconds=${seconds:-600}
[ "$seconds" -gt 0 ] || die "SECONDS must be a positive whole number"
if [ ${#selected[@]} -eq 0 ]; then
  selected=("${all_targets[@]}")
fi
for t in "${selected[@]}"; do
  printf '%s\n' "${all_targets[@]}" | grep -qx -- "$t" || die "unknown target '$t' (see --list)"
done

command -v cargo >/dev/null 2>&1 || die "cargo is not installed (https://rustup.rs)"
if ! cargo +nightly --version >/dev/null 2>&1; then
  die "the nightly toolchain is required by cargo-fuzz (libFuzzer instrumentation): rustup toolchain install nightly"
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz (cargo install cargo-fuzz --locked)"
  cargo install cargo-fuzz --locked
fi

echo "==> building ${#selected[@]} fuzz target(s) (sanitizer: $SANITIZER)"
if [ ${#selected[@]} -eq 1 ]; then
  cargo +nightly fuzz build --fuzz-dir "$FUZZ_DIR" -s "$SANITIZER" "${selected[0]}"
else
  cargo +nightly fuzz build --fuzz-dir "$FUZZ_DIR" -s "$SANITIZER"
fi

# Corpus and logs under CARGO_TARGET_DIR when it is set, like cargo's output.
target_dir=${CARGO_TARGET_DIR:-target}
mkdir -p "$target_dir/fuzz-logs"
failed=0
summary=()
for t in "${selected[@]}"; do
  corpus=$target_dir/fuzz-corpus/$t
  seeds=$FUZZ_DIR/corpus/$t
  log=$target_dir/fuzz-logs/$t.log
  mkdir -p "$corpus" "$seeds"
  echo "==> $t: ${seconds}s (log: $log)"
  start=$(date +%s)
  status=0
  # The first corpus directory is the one libFuzzer writes to; the seeds
  # directory is only read. A hung input fails after 10 s.
  # shellcheck disable=SC2086 # FUZZ_ARGS is a list of arguments
  cargo +nightly fuzz run --fuzz-dir "$FUZZ_DIR" -s "$SANITIZER" "$t" "$corpus" "$seeds" -- \
    -max_total_time="$seconds" -timeout=10 -print_final_stats=1 ${FUZZ_ARGS:-} \
    >"$log" 2>&1 || status=$?
  elapsed=$(( $(date +%s) - start ))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  if [ -z "$runs" ]; then
    runs=$(grep -oE '^#[0-9]+' "$log" | tail -n1 | tr -d '#')
  fi
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n1 | awk '{print $2}')
  ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -n1 | awk '{print $2}')
  entries=$(find "$corpus" -maxdepth 1 -type f | wc -l | tr -d ' ')
  if [ "$status" -eq 0 ] && grep -q '^Done [0-9]* runs' "$log"; then
    verdict=PASS
  else
    verdict=FAIL
    failed=1
    echo "    $t FAILED (exit $status); the panic and the crash input:" >&2
    grep -E "panicked at|^Test unit written to|ERROR: libFuzzer" -A1 "$log" | head -n 12 >&2 || true
  fi
  line=$(printf '%-16s %s  runs=%s cov=%s ft=%s corpus=%s time=%ss' \
    "$t" "$verdict" "${runs:-?}" "${cov:-?}" "${ft:-?}" "$entries" "$elapsed")
  echo "    $line"
  summary+=("$line")
done

echo "==> summary"
printf '%s\n' "${summary[@]}"
exit "$failed"
