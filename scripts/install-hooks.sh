#!/usr/bin/env bash
# Install a git pre-commit hook that runs the format check and clippy.
# Idempotent: re-running rewrites our hook; a foreign hook is kept as a backup.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/install-hooks.sh [-h|--help]

Installs .git/hooks/pre-commit (wherever `git rev-parse --git-path hooks`
points, so worktrees and core.hooksPath work) running:
  cargo fmt --all -- --check
  cargo clippy --all-targets -- -D warnings
An existing pre-commit hook not written by this script is moved to
pre-commit.backup first. Skip the hook once with `git commit --no-verify`.
USAGE
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) echo "install-hooks.sh: error: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac

cd "$(dirname "${BASH_SOURCE[0]}")/.."
hooks_dir=$(git rev-parse --git-path hooks) || { echo "install-hooks.sh: error: not inside a git repository" >&2; exit 1; }
mkdir -p "$hooks_dir"
hook=$hooks_dir/pre-commit
marker="# installed by scripts/install-hooks.sh (connect-pstn-transfer)"

if [ -e "$hook" ] && ! grep -qF "$marker" "$hook"; then
  mv -f "$hook" "$hook.backup"
  echo "install-hooks.sh: kept the existing hook as $hook.backup"
fi

tmp=$(mktemp "$hooks_dir/.pre-commit.XXXXXX")
cat > "$tmp" <<HOOK
#!/usr/bin/env bash
$marker
set -euo pipefail
cd "\$(git rev-parse --show-toplevel)"
echo "pre-commit: cargo fmt --check"
cargo fmt --all -- --check || { echo "pre-commit: formatting differs; run scripts/format.sh" >&2; exit 1; }
echo "pre-commit: cargo clippy"
cargo clippy --all-targets --quiet -- -D warnings
HOOK
chmod 0755 "$tmp"
mv -f "$tmp" "$hook"
echo "install-hooks.sh: pre-commit hook installed at $hook"
