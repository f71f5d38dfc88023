#!/usr/bin/env bash
# Build the Lambda artifact(s): release binary `bootstrap`, checked to run on
# Amazon Linux 2023, zipped for provided.al2023, with a sha256 file and a
# CycloneDX SBOM beside each zip in dist/.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/build.sh [arm64|x86_64|all] [--no-sbom] [-h|--help]

Builds `cargo build --release --bin bootstrap` for the given Lambda
architecture (default: arm64, the Graviton target) and writes to dist/:

  connect-pstn-transfer-<version>-<arch>.zip         bootstrap (0755) at the root
  connect-pstn-transfer-<version>-<arch>.zip.sha256  sha256sum format
  connect-pstn-transfer-<version>-<arch>.cdx.json    CycloneDX SBOM (JSON)
  bootstrap-<arch>.path                              absolute path of the unzipped binary

<version> is read from the VERSION file at the repository root.

Toolchain for a cross build (e.g. arm64 on an x86_64 host):
  * rustup with the target installed (rustup target add aarch64-unknown-linux-gnu)
    plus the cross linker (apt-get install gcc-aarch64-linux-gnu), or
  * Debian's packaged rustc with the target's std (rustc-web,
    libstd-rust-web-dev:arm64, gcc-aarch64-linux-gnu, libc6-dev-arm64-cross,
    qemu-user); installed automatically when running as root with apt-get.

The artifact is refused (no zip is written) when the binary needs a glibc
newer than 2.34 (Amazon Linux 2023) or its ELF machine is not the requested
architecture.

Options:
  --no-sbom   skip the SBOM (no cargo-cyclonedx needed); for quick local builds
  -h, --help  show this help

Environment:
  SOURCE_DATE_EPOCH  timestamp used inside the zip and SBOM (default: last commit time)
EOF
}

die() { echo "build.sh: error: $*" >&2; exit 1; }
note() { echo "build.sh: $*" >&2; }

# Highest glibc symbol version Amazon Linux 2023 provides.
readonly MAX_GLIBC="2.34"

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

want_sbom=1
arch_arg=""
for arg in "$@"; do
  case "$arg" in
    -h|--help) usage; exit 0 ;;
    --no-sbom) want_sbom=0 ;;
    arm64|aarch64) arch_arg="${arch_arg:+$arch_arg }arm64" ;;
    x86_64|amd64) arch_arg="${arch_arg:+$arch_arg }x86_64" ;;
    all) arch_arg="${arch_arg:+$arch_arg }arm64 x86_64" ;;
    *) die "unknown argument '$arg' (expected arm64, x86_64 or all; see --help)" ;;
  esac
done
arches=${arch_arg:-arm64}

[ -f VERSION ] || die "VERSION file not found at $repo_root"
version=$(tr -d '[:space:]' < VERSION)
[[ "$version" =~ ^[0-9A-Za-z.+-]+$ ]] || die "VERSION '$version' is not a plain version string"

command -v cargo >/dev/null 2>&1 || die "cargo not found; install Rust (https://rustup.rs)"
command -v readelf >/dev/null 2>&1 || die "readelf not found; install binutils"
command -v python3 >/dev/null 2>&1 || die "python3 not found (used to write the zip)"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum not found; install coreutils"

# Timestamp for the zip entry and SBOM, so unchanged code gives an identical
# zip (and deploy.sh's content-addressed S3 key stays the same). Not exported to
# cargo: a changing value there would defeat its build cache.
artifact_epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 315532800)}

# CARGO_TARGET_DIR as cargo reads it (relative to the repository root here).
cargo_target_dir=${CARGO_TARGET_DIR:-$repo_root/target}
case "$cargo_target_dir" in /*) ;; *) cargo_target_dir=$repo_root/$cargo_target_dir ;; esac

host_triple=$(rustc -vV 2>/dev/null | sed -n 's/^host: //p')
[ -n "$host_triple" ] || die "could not determine the host triple from 'rustc -vV'"

triple_of() {
  case "$1" in
    arm64) echo aarch64-unknown-linux-gnu ;;
    x86_64) echo x86_64-unknown-linux-gnu ;;
  esac
}
# ELF "Machine:" line printed by readelf -h.
elf_machine_of() {
  case "$1" in
    arm64) echo "AArch64" ;;
    x86_64) echo "Advanced Micro Devices X86-64" ;;
  esac
}
# Debian names: cross gcc prefix, dpkg architecture, libc cross package suffix.
gnu_prefix_of() {
  case "$1" in
    arm64) echo aarch64-linux-gnu ;;
    x86_64) echo x86_64-linux-gnu ;;
  esac
}
dpkg_arch_of() {
  case "$1" in
    arm64) echo arm64 ;;
    x86_64) echo amd64 ;;
  esac
}

have_rustup_target() {
  command -v rustup >/dev/null 2>&1 && rustup target list --installed 2>/dev/null | grep -qx "$1"
}

can_apt() {
  [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1
}

apt_install() {
  note "installing Debian packages: $*"
  export DEBIAN_FRONTEND=noninteractive
  timeout 900 apt-get update -qq >/dev/null || die "apt-get update failed"
  timeout 1800 apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || die "apt-get install $* failed"
}

# Makes sure the cross linker exists (the rustup path needs it too).
ensure_cross_gcc() {
  local arch=$1 prefix
  prefix=$(gnu_prefix_of "$arch")
  command -v "$prefix-gcc" >/dev/null 2>&1 && return 0
  if can_apt; then
    apt_install "gcc-${prefix//_/-}" "libc6-dev-$(dpkg_arch_of "$arch")-cross"
  else
    die "cross linker $prefix-gcc not found; install it (Debian/Ubuntu: apt-get install gcc-${prefix//_/-} libc6-dev-$(dpkg_arch_of "$arch")-cross)"
  fi
}

# Installs Debian's rustc with the target's std when it is missing.
ensure_debian_rustc() {
  local arch=$1 triple darch prefix pkgs=()
  triple=$(triple_of "$arch"); darch=$(dpkg_arch_of "$arch"); prefix=$(gnu_prefix_of "$arch")
  [ -x /usr/bin/rustc ] || pkgs+=(rustc-web)
  [ -d "/usr/lib/rustlib/$triple/lib" ] || pkgs+=("libstd-rust-web-dev:$darch")
  command -v "$prefix-gcc" >/dev/null 2>&1 || pkgs+=("gcc-${prefix//_/-}")
  [ -f "/usr/$prefix/include/stdio.h" ] || pkgs+=("libc6-dev-$darch-cross")
  [ "$arch" = arm64 ] && ! command -v qemu-aarch64 >/dev/null 2>&1 && pkgs+=(qemu-user)
  [ ${#pkgs[@]} -eq 0 ] && return 0
  if ! can_apt; then
    die "no toolchain for $triple: either 'rustup target add $triple' plus the $prefix-gcc linker, or (Debian, as root) 'dpkg --add-architecture $darch && apt-get update && apt-get install rustc-web libstd-rust-web-dev:$darch gcc-${prefix//_/-} libc6-dev-$darch-cross qemu-user'"
  fi
  if ! dpkg --print-foreign-architectures | grep -qx "$darch" && [ "$darch" != "$(dpkg --print-architecture)" ]; then
    note "adding the Debian architecture $darch (dpkg --add-architecture $darch) for its Rust std"
    dpkg --add-architecture "$darch"
  fi
  apt_install "${pkgs[@]}"
}

# Picks the toolchain for one arch; sets build_envs and target_dir.
select_toolchain() {
  local arch=$1 triple prefix env_triple
  triple=$(triple_of "$arch"); prefix=$(gnu_prefix_of "$arch")
  env_triple=$(echo "$triple" | tr '[:lower:]-' '[:upper:]_')
  build_envs=()
  if [ "$triple" = "$host_triple" ]; then
    target_dir=$cargo_target_dir
    note "building $triple natively"
  elif have_rustup_target "$triple"; then
    ensure_cross_gcc "$arch"
    target_dir=$cargo_target_dir
    build_envs+=("CARGO_TARGET_${env_triple}_LINKER=$prefix-gcc" "CC_${triple//-/_}=$prefix-gcc")
    note "building $triple with rustup's target and $prefix-gcc"
  else
    ensure_debian_rustc "$arch"
    # Its own target dir, so the two compilers do not invalidate each other's cache.
    target_dir=$cargo_target_dir/debian-rustc
    build_envs+=("RUSTC=/usr/bin/rustc" "CARGO_TARGET_${env_triple}_LINKER=$prefix-gcc" "CC_${triple//-/_}=$prefix-gcc")
    note "building $triple with Debian's $(/usr/bin/rustc --version | cut -d' ' -f1-2) in $target_dir"
  fi
  build_envs+=("CARGO_TARGET_DIR=$target_dir")
}

# Refuses a binary that would not run on Amazon Linux 2023 for this arch.
verify_binary() {
  local arch=$1 bin=$2 machine want highest
  [ -x "$bin" ] || die "$bin is missing or not executable"
  machine=$(readelf -h "$bin" 2>/dev/null | sed -n 's/^ *Machine: *//p')
  want=$(elf_machine_of "$arch")
  [ "$machine" = "$want" ] || die "$bin is for '$machine', expected '$want' ($arch)"
  highest=$(readelf -V --wide "$bin" 2>/dev/null | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/^GLIBC_//' | sort -uV | tail -n1)
  [ -n "$highest" ] || die "$bin has no GLIBC symbol versions; is it a dynamically linked glibc binary?"
  if [ "$(printf '%s\n%s\n' "$highest" "$MAX_GLIBC" | sort -V | tail -n1)" != "$MAX_GLIBC" ]; then
    die "$bin needs GLIBC_$highest but Amazon Linux 2023 has glibc $MAX_GLIBC; build against an older glibc"
  fi
  note "$arch binary OK: $machine, needs glibc <= $highest"
}

ensure_cyclonedx() {
  cargo cyclonedx --version >/dev/null 2>&1 && return 0
  note "installing cargo-cyclonedx (cargo install cargo-cyclonedx --locked)"
  timeout 1800 cargo install cargo-cyclonedx --locked --quiet >&2 \
    || die "could not install cargo-cyclonedx; install it or pass --no-sbom"
}

# Writes the SBOM for the binary's dependency graph on this target to $2.
write_sbom() {
  local triple=$1 out=$2 generated=$repo_root/bootstrap_bin.cdx.json
  rm -f "$generated"
  env "${build_envs[@]}" SOURCE_DATE_EPOCH="$artifact_epoch" cargo cyclonedx --format json --describe binaries --target "$triple" \
    --no-build-deps --spec-version 1.5 --quiet >&2 || die "cargo cyclonedx failed for $triple"
  [ -f "$generated" ] || die "cargo cyclonedx did not write $generated"
  python3 - "$generated" <<'PY' || { rm -f "$generated"; die "SBOM check failed for $triple"; }
import json, sys
bom = json.load(open(sys.argv[1]))
comps = bom.get("components") or []
if not comps:
    sys.exit("SBOM has no components")
bad = [c.get("name", "?") for c in comps
       if not c.get("version") or not c.get("licenses") or not c.get("hashes")]
if bad:
    sys.exit("SBOM components without version/license/hash: " + ", ".join(bad))
PY
  mv -f "$generated" "$out"
}

# Writes a zip holding only `bootstrap` (mode 0755) at its root; reproducible.
write_zip() {
  local bin=$1 out=$2
  python3 - "$bin" "$out" "$artifact_epoch" <<'PY'
import sys, time, zipfile
src, dst = sys.argv[1], sys.argv[2]
stamp = max(int(sys.argv[3]), 315532800)  # zip dates start in 1980
info = zipfile.ZipInfo("bootstrap", date_time=time.gmtime(stamp)[:6])
info.create_system = 3  # Unix, so the mode below is honoured
info.external_attr = (0o100755 & 0xFFFF) << 16
info.compress_type = zipfile.ZIP_DEFLATED
with open(src, "rb") as f, zipfile.ZipFile(dst, "w") as z:
    z.writestr(info, f.read(), compresslevel=9)
PY
}

mkdir -p dist
# One build at a time per checkout: two runs would race on dist/ and on the
# SBOM file cargo-cyclonedx writes next to Cargo.toml.
if command -v flock >/dev/null 2>&1; then
  exec 9>dist/.build.lock
  if ! flock -n 9; then
    note "waiting for another scripts/build.sh in this checkout (up to 30 min)"
    flock -w 1800 9 || die "another scripts/build.sh still holds dist/.build.lock after 30 min"
  fi
fi
rows=()
for arch in $arches; do
  triple=$(triple_of "$arch")
  base=dist/connect-pstn-transfer-$version-$arch
  zip=$base.zip
  # A failed build must not leave an older artifact behind under this name.
  rm -f "$zip" "$zip.sha256" "$base.cdx.json" "dist/bootstrap-$arch.path"
  select_toolchain "$arch"
  env "${build_envs[@]}" cargo build --release --locked --bin bootstrap --target "$triple" \
    || die "cargo build for $triple failed"
  bin=$target_dir/$triple/release/bootstrap
  verify_binary "$arch" "$bin"
  if [ "$want_sbom" -eq 1 ]; then
    ensure_cyclonedx
    write_sbom "$triple" "$base.cdx.json"
  fi
  tmp_zip=$(mktemp "dist/.bootstrap-$arch.XXXXXX")
  trap 'rm -f "$tmp_zip"' EXIT
  write_zip "$bin" "$tmp_zip" || die "could not write the zip for $arch"
  chmod 0644 "$tmp_zip"
  mv -f "$tmp_zip" "$zip"
  trap - EXIT
  (cd dist && sha256sum "$(basename "$zip")" > "$(basename "$zip").sha256")
  echo "$bin" > "dist/bootstrap-$arch.path"
  rows+=("$arch|$(stat -c %s "$bin")|$(stat -c %s "$zip")|$zip|$bin")
done

echo
printf '%-7s %10s %10s  %s\n' ARCH BINARY ZIP PATHS
for row in "${rows[@]}"; do
  IFS='|' read -r arch bsize zsize zip bin <<<"$row"
  printf '%-7s %10s %10s  %s\n' "$arch" "$bsize" "$zsize" "$zip"
  printf '%-7s %10s %10s  %s\n' "" "" "" "$bin"
done
