#!/usr/bin/env bash
# Creates (once) the one Python venv of the test command, under
# ${CARGO_TARGET_DIR:-target}/venv, with the pinned tools of
# scripts/python-tools.txt, and prints the venv's bin directory on stdout.
# Debian's Python refuses pip outside a venv (PEP 668), hence the venv.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/venv.sh [-h|--help]

Makes sure ${CARGO_TARGET_DIR:-target}/venv exists and holds the packages of
scripts/python-tools.txt (cfn-lint, awscli, moto[server], cargo-lambda),
then prints the absolute path of its bin/ directory. Nothing is installed
when the venv is already up to date (a stamp records the requirements it was
built from). Every install step says what it installs before it starts.

Python: the first python3 on PATH (Debian's /usr/bin/python3 or a pyenv one).
Debian's needs the python3-venv package for `python3 -m venv`; it is
installed with apt-get when missing and running as root, else the script
says what to install.

Environment:
  VENV_PYTHON       the Python to build the venv with (default: python3)
  CARGO_TARGET_DIR  where target/ is (the venv goes to its venv/ folder)
USAGE
}
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) echo "venv.sh: error: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac

die() { echo "venv.sh: error: $*" >&2; exit 1; }
note() { echo "venv.sh: $*" >&2; }

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
target_dir=${CARGO_TARGET_DIR:-target}
case "$target_dir" in /*) ;; *) target_dir=$repo_root/$target_dir ;; esac
venv=$target_dir/venv
requirements=$repo_root/scripts/python-tools.txt
stamp=$venv/.requirements.sha256
want=$(sha256sum "$requirements" | cut -d' ' -f1)

if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "$venv/bin"
  exit 0
fi

python=${VENV_PYTHON:-python3}
command -v "$python" >/dev/null 2>&1 || die "$python not found; install Python 3 (Debian: apt-get install python3 python3-venv)"
python_path=$(command -v "$python")
# Debian ships venv's pip bootstrap (ensurepip) in a separate package.
if ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 \
    && [ "$("$python" -c 'import sys; print(sys.prefix)')" = /usr ]; then
    note "installing Debian package python3-venv (apt-get install python3-venv) for $python_path"
    export DEBIAN_FRONTEND=noninteractive
    timeout 900 apt-get update -qq >/dev/null || die "apt-get update failed"
    timeout 900 apt-get install -y -qq --no-install-recommends python3-venv >/dev/null \
      || die "apt-get install python3-venv failed"
  else
    die "$python_path cannot create a venv with pip (no ensurepip); on Debian: apt-get install python3-venv; or set VENV_PYTHON to another Python 3"
  fi
fi

# Two lists: with dependencies, and the `# no-deps:` lines without.
with_deps=$(grep -v '# *no-deps:' "$requirements" | sed 's/#.*//' | xargs)
no_deps=$(grep '# *no-deps:' "$requirements" | sed 's/#.*//' | xargs)
rm -rf "$venv"
note "creating the Python venv $venv with $python_path ($("$python" --version 2>&1))"
"$python" -m venv "$venv" || die "python3 -m venv $venv failed"
started=$SECONDS
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input)
note "installing into it from PyPI (about 500 MB unpacked, 1-2 minutes): $with_deps"
# shellcheck disable=SC2086 # lists of requirement specifiers
timeout 1200 "${pip[@]}" $with_deps >&2 || die "pip install $with_deps failed"
if [ -n "$no_deps" ]; then
  note "installing from PyPI without dependencies: $no_deps"
  # shellcheck disable=SC2086
  timeout 600 "${pip[@]}" --no-deps $no_deps >&2 || die "pip install --no-deps $no_deps failed"
fi
echo "$want" > "$stamp"
note "Python tools ready in $((SECONDS - started)) s"
echo "$venv/bin"
