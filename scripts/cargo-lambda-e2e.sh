#!/usr/bin/env bash
# End to end under cargo-lambda's emulator, the local loop of Rust Lambda
# developers: `cargo lambda watch --only-lambda-apis`, the release `bootstrap`
# started with the environment it prints (plus the Cresta and Secrets Manager
# stand-ins), and both Connect actions sent with `cargo lambda invoke`.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/cargo-lambda-e2e.sh [-h|--help]

Checks, each as one PASS/FAIL line:
  * the emulator's AWS_LAMBDA_RUNTIME_API (http://[::1]:PORT/.rt: a URL with
    an IPv6 literal and a path prefix) is understood;
  * get_pstn_transfer_data and get_handoff_data answer through
    `cargo lambda invoke` with the stand-ins' phone number, DTMF and handoff;
  * the emulator's relative deadline header (600000) gives one warning per
    process, not Deadline.Exceeded;
  * the same with the unspecified address http://[::]:PORT/.rt, the form
    `cargo lambda watch` prints by default (it reaches loopback).
Everything listens on loopback only (the emulator on ::1, or 127.0.0.1 when
the machine has no IPv6). cargo-lambda comes from the venv of scripts/venv.sh.

Environment:
  BOOTSTRAP_BIN      test this binary instead of building target/release/bootstrap
  CARGO_TARGET_DIR   where target/ is; logs go to its cargo-lambda-e2e/ folder
USAGE
}
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) echo "cargo-lambda-e2e.sh: error: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac

die() { echo "cargo-lambda-e2e.sh: error: $*" >&2; exit 1; }
note() { echo "cargo-lambda-e2e.sh: $*" >&2; }

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
target_dir=${CARGO_TARGET_DIR:-target}
case "$target_dir" in /*) ;; *) target_dir=$repo_root/$target_dir ;; esac
work=$target_dir/cargo-lambda-e2e
rm -rf "$work"
mkdir -p "$work"

venv_bin=$(scripts/venv.sh) || die "scripts/venv.sh failed"
[ -x "$venv_bin/cargo-lambda" ] || die "cargo-lambda missing from $venv_bin"
# `cargo lambda` finds the cargo-lambda subcommand on PATH.
export PATH=$venv_bin:$PATH

note "building bootstrap and the stand-ins (release)"
cargo build --release --locked --quiet --bin bootstrap --example standins
bootstrap=${BOOTSTRAP_BIN:-$target_dir/release/bootstrap}
standins=$target_dir/release/examples/standins

pids=()
cleanup() {
  local pid
  exec 8>&- 2>/dev/null || true
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

failures=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; failures=$((failures + 1)); }

# Waits up to $3 seconds for the pattern $2 in the file $1.
wait_for() {
  local file=$1 pattern=$2 limit=$3 i
  for ((i = 0; i < limit * 10; i++)); do
    grep -qE "$pattern" "$file" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# A free loopback port: IPv6 when the machine has it.
if port=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0)); print(s.getsockname()[1])' 2>/dev/null); then
  address=::1
else
  note "no IPv6 loopback here; the emulator listens on 127.0.0.1"
  address=127.0.0.1
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fi

# 1. The emulator: Runtime API and invoke API on one port, for at most 5 minutes.
note "starting cargo lambda watch --only-lambda-apis -A $address -P $port"
timeout 300 cargo lambda watch --only-lambda-apis --invoke-address "$address" --invoke-port "$port" \
  --color never >"$work/watch.log" 2>&1 &
pids+=($!)
wait_for "$work/watch.log" 'starting Runtime server' 60 \
  || { cat "$work/watch.log" >&2; die "cargo lambda watch did not start (log: $work/watch.log)"; }
# The environment it says the function must have: `AWS_...=value` lines.
sed 's/\x1b\[[0-9;]*m//g' "$work/watch.log" | sed -n 's/^.*INFO \(AWS_[A-Z_]*=[^ ]*\)$/\1/p' >"$work/lambda.env"
runtime_api=$(sed -n 's/^AWS_LAMBDA_RUNTIME_API=//p' "$work/lambda.env")
function_name=$(sed -n 's/^AWS_LAMBDA_FUNCTION_NAME=//p' "$work/lambda.env")
if [ -z "$runtime_api" ] || [ -z "$function_name" ]; then
  cat "$work/watch.log" >&2
  die "cargo lambda watch printed no AWS_LAMBDA_RUNTIME_API / AWS_LAMBDA_FUNCTION_NAME"
fi
note "the emulator's environment: $(tr '\n' ' ' <"$work/lambda.env")"

# 2. The stand-ins, serving until fd 8 closes (at the latest after 5 minutes).
mkfifo "$work/standins.in"
"$standins" 300 <"$work/standins.in" >"$work/standins.out" 2>&1 &
pids+=($!)
exec 8>"$work/standins.in"
wait_for "$work/standins.out" '^ready$' 30 || die "the stand-ins did not start: $(cat "$work/standins.out")"
mapfile -t standin_env < <(grep '=' "$work/standins.out")
mapfile -t lambda_env <"$work/lambda.env"

# Starts bootstrap as the emulator's function with AWS_LAMBDA_RUNTIME_API=$1; log $2.
start_function() {
  env -i PATH="$PATH" "${standin_env[@]}" "${lambda_env[@]}" AWS_LAMBDA_RUNTIME_API="$1" \
    "$bootstrap" >"$2" 2>&1 &
  function_pid=$!
  pids+=("$function_pid")
}
stop_function() {
  kill "$function_pid" 2>/dev/null || true
  wait "$function_pid" 2>/dev/null || true
}

event() {
  printf '{"Name":"ContactFlowEvent","Details":{"ContactData":{"ContactId":"contact-1234","Channel":"VOICE","InitialContactId":"initial-5678","Attributes":{}},"Parameters":{"action":"%s"}}}' "$1"
}

# Invokes action $1 and checks the answer against the stand-in's values; $2 names the run.
invoke() {
  local action=$1 run=$2 answer
  event "$action" >"$work/$action.json"
  if ! answer=$(timeout 30 cargo lambda invoke --invoke-address "$address" --invoke-port "$port" \
    --data-file "$work/$action.json" "$function_name" 2>&1); then
    fail "$run: $action" "cargo lambda invoke failed: $answer"
    return
  fi
  if python3 - "$action" "$answer" <<'PY'; then pass "$run: $action answered with the stand-in's values"; else fail "$run: $action" "unexpected answer $answer"; fi
import json, sys
action, answer = sys.argv[1], json.loads(sys.argv[2])
want = {
    "get_pstn_transfer_data": {"phoneNumber": "+15551230000", "dtmfSequence": "4321"},
    "get_handoff_data": {"handoff_conversationCorrelationId": "contact-1234",
                         "handoff_transferTarget": "pstn:PSTN3"},
}[action]
sys.exit(0 if all(answer.get(k) == v for k, v in want.items()) else 1)
PY
}

# One warning about the deadline header per process, and no Deadline.Exceeded.
check_log() {
  local log=$1 run=$2 warnings
  warnings=$(grep -c 'Lambda-Runtime-Deadline-Ms 600000' "$log" || true)
  if [ "$warnings" = 1 ] && ! grep -q 'Deadline' <(grep -v 'Lambda-Runtime-Deadline-Ms 600000' "$log"); then
    pass "$run: the relative deadline header gave one warning and Connect's 8 s budget"
  else
    fail "$run: deadline" "$warnings warning(s); log: $(head -c 600 "$log")"
  fi
}

run="runtime API $runtime_api"
start_function "$runtime_api" "$work/function.log"
invoke get_pstn_transfer_data "$run"
invoke get_handoff_data "$run"
invoke get_pstn_transfer_data "$run"
stop_function
check_log "$work/function.log" "$run"

if [ "$address" = ::1 ]; then
  # The form the emulator prints by default, listening on every address.
  unspecified=${runtime_api/\[::1\]/[::]}
  run="runtime API $unspecified"
  start_function "$unspecified" "$work/function-unspecified.log"
  invoke get_pstn_transfer_data "$run"
  stop_function
  check_log "$work/function-unspecified.log" "$run"
fi

exec 8>&-
wait_for "$work/standins.out" '^requests:' 10 || true
note "stand-ins: $(grep '^requests:' "$work/standins.out" || echo 'no request count')"
echo
if [ "$failures" -eq 0 ]; then
  echo "cargo-lambda-e2e.sh: all checks passed (logs: $work)"
else
  echo "cargo-lambda-e2e.sh: $failures check(s) failed (logs: $work)"
  exit 1
fi
