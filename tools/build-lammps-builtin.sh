#!/usr/bin/env bash
# Build a LAMMPS `lmp` with fix forecast compiled in (no plugin needed), with LAMMPS' own CMake
# build, from Debian trixie's LAMMPS source (4 Feb 2025), and cache everything outside the checkout.
#
# Usage: tools/build-lammps-builtin.sh [--check] [--force] [--jobs N]
#   (no option)  build if needed, then print the path of the built lmp
#   --check      build nothing: print the install prefix and exit 0 if the cached lmp is up to date
#                for this checkout, exit 1 if it was never built, 2 if it is stale
#   --force      rebuild even if the stamp says the cached lmp is up to date
#   --jobs N     parallel compile jobs (default: $JOBS or 2)
#
# Environment (all optional):
#   SIMFORECAST_CACHE  cache directory (default: $HOME/.cache/simforecast)
#   LAMMPS_SOURCE      use this LAMMPS source tree (holding cmake/ and src/) instead of Debian's
#   DEBIAN_MIRROR      Debian archive to fetch the source from (default: http://deb.debian.org/debian)
#   CMAKE              cmake >= 3.20 (default: cmake on PATH, else <repo>/.venv/bin/cmake)
#   MPICXX MPICC       MPI compiler wrappers (default: /usr/bin/mpicxx.mpich, /usr/bin/mpicc.mpich)
#   MPIEXEC            the matching launcher (default: /usr/bin/mpiexec.mpich)
#
# Cache layout (see cmake/lammps-builtin/README.md):
#   $SIMFORECAST_CACHE/lammps-src/<orig tarball>, lammps-<version>/ (unpacked), apt/ (private apt state)
#   $SIMFORECAST_CACHE/lammps-builtin/<checkout>-<hash>/build/   CMake build tree, reused incrementally
#   $SIMFORECAST_CACHE/lammps-builtin/<checkout>-<hash>/bin/lmp  the binary; bin/mpiexec -> $MPIEXEC
#   $SIMFORECAST_CACHE/lammps-builtin/<checkout>-<hash>/simforecast-builtin.txt  stamp (input hash)
# The stamp hashes the fix (cpp/), the Rust library (Cargo.*, build.rs, src/, crates/runtime/,
# include/), the CMake glue and this script, the LAMMPS source identity, the compilers and the
# options below: nothing changed, nothing is rebuilt; something changed, the build tree is rebuilt
# incrementally (a fix edit: ~10 s; a fresh tree: ~7 min at -j2).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { echo "build-lammps-builtin: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

mode=build
force=0
jobs="${JOBS:-2}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --check) mode=check ;;
    --force) force=1 ;;
    --jobs) [[ $# -ge 2 ]] || die "--jobs needs a value"; jobs="$2"; shift ;;
    --jobs=*) jobs="${1#--jobs=}" ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
  shift
done
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || die "--jobs must be a positive integer, got '$jobs'"

# ------------------------------------------------------------------ pinned LAMMPS source
# Debian trixie's orig tarball of lammps 20250204+dfsg.1 (the checksum is also the one in trixie's
# signed Sources index; apt verifies it on download and we check it again).
debian_suite=trixie
lammps_tarball=lammps_20250204+dfsg.1.orig.tar.xz
lammps_sha256=3671165bd52fad36734e0a9136c5bc5ecb225e03988f8c89aa13366a8b53b1c7
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

cache="${SIMFORECAST_CACHE:-$HOME/.cache/simforecast}"
srcdir="$cache/lammps-src"

# ------------------------------------------------------------------ build options
mpicxx="${MPICXX:-/usr/bin/mpicxx.mpich}"
mpicc="${MPICC:-/usr/bin/mpicc.mpich}"
mpiexec="${MPIEXEC:-/usr/bin/mpiexec.mpich}"
# Core LAMMPS only: every style our tests and examples use (pair lj/expand, zero, lj/cut; fix
# nvt/sllod, deform, langevin, nve, ave/time; compute temp/deform, pressure, ke/atom) is in src/.
# No PLUGIN package: this lmp cannot `plugin load`, so a passing test proves the fix is built in.
# Optional system libraries are off so the result does not depend on what happens to be installed.
cmake_options=(
  -D CMAKE_BUILD_TYPE=Release
  -D BUILD_MPI=yes
  -D "MPI_CXX_COMPILER=$mpicxx"
  -D "MPI_C_COMPILER=$mpicc"
  -D BUILD_OMP=no
  -D BUILD_SHARED_LIBS=no
  -D LAMMPS_SIZES=smallbig
  -D WITH_JPEG=no -D WITH_PNG=no -D WITH_FFMPEG=no -D WITH_GZIP=yes
  -D BUILD_TOOLS=no -D BUILD_LAMMPS_GUI=no
  -D DOWNLOAD_POTENTIALS=no
)

# ------------------------------------------------------------------ per-checkout build location
checkout_id="$(basename "$root")-$(printf '%s' "$root" | sha256sum | cut -c1-10)"
prefix="$cache/lammps-builtin/$checkout_id"
builddir="$prefix/build"
stampfile="$prefix/simforecast-builtin.txt"

# ------------------------------------------------------------------ the input hash
sha_stdin() { sha256sum | cut -d' ' -f1; }

source_identity() {
  if [[ -n "${LAMMPS_SOURCE:-}" ]]; then
    [[ -f "$LAMMPS_SOURCE/src/version.h" ]] || die "LAMMPS_SOURCE=$LAMMPS_SOURCE has no src/version.h"
    echo "tree $(cd "$LAMMPS_SOURCE" && pwd) $(sha_stdin < "$LAMMPS_SOURCE/src/version.h")"
  else
    echo "debian $debian_suite $lammps_tarball $lammps_sha256"
  fi
}

input_hash() {
  {
    echo "lammps: $(source_identity)"
    echo "options: ${cmake_options[*]}"
    echo "c++: $(c++ --version 2>/dev/null | head -n1)"
    echo "mpicxx: $("$mpicxx" -show 2>/dev/null || echo missing)"
    # contents and names of every file that goes into lmp from this checkout
    local inputs=() p
    # (crates/runtime: the one workspace crate libsimforecast.a is built from besides src/;
    # crates/campaign and crates/train: libsimforecast_campaign.so, copied beside lmp)
    for p in cpp src crates/runtime crates/campaign crates/train include Cargo.toml Cargo.lock build.rs cbindgen.toml \
             cmake/lammps-builtin/CMakeLists.txt cmake/SimforecastCargo.cmake tools/build-lammps-builtin.sh; do
      [[ -e "$root/$p" ]] && inputs+=("$p")
    done
    (cd "$root" && find "${inputs[@]}" -type f ! -name '*.swp' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
  } | sha_stdin
}

key="$(input_hash)"
stamp_key() { [[ -f "$stampfile" ]] && sed -n 's/^key: //p' "$stampfile" || true; }

if [[ "$mode" == check ]]; then
  if [[ ! -x "$prefix/bin/lmp" || ! -f "$stampfile" ]]; then
    say "no builtin lmp for this checkout in $prefix: run tools/build-lammps-builtin.sh"
    exit 1
  fi
  if [[ "$(stamp_key)" != "$key" ]]; then
    say "the builtin lmp in $prefix is out of date (fix, Rust library, LAMMPS source or options changed): run tools/build-lammps-builtin.sh"
    exit 2
  fi
  echo "$prefix"
  exit 0
fi

if [[ $force -eq 0 && -x "$prefix/bin/lmp" && "$(stamp_key)" == "$key" ]]; then
  say "up to date: $prefix/bin/lmp (input hash ${key:0:12})"
  echo "$prefix/bin/lmp"
  exit 0
fi

# ------------------------------------------------------------------ prerequisites
if [[ -z "${CMAKE:-}" ]]; then
  if command -v cmake >/dev/null; then CMAKE="$(command -v cmake)"
  elif [[ -x "$root/.venv/bin/cmake" ]]; then CMAKE="$root/.venv/bin/cmake"
  else die "cmake not found: run tools/setup-venv.sh (it installs cmake into .venv) or set CMAKE"
  fi
fi
cmake_version="$("$CMAKE" --version | sed -n 's/^cmake version \([0-9.]*\).*/\1/p')"
[[ "$(printf '%s\n3.20\n' "$cmake_version" | sort -V | head -n1)" == 3.20 ]] \
  || die "$CMAKE is version $cmake_version, need >= 3.20"
command -v c++ >/dev/null || die "no C++ compiler (c++): apt-get install g++"
for tool in "$mpicxx" "$mpicc" "$mpiexec"; do
  [[ -x "$tool" ]] || die "$tool not found: apt-get install mpich libmpich-dev (or set MPICXX, MPICC, MPIEXEC)"
done
command -v cargo >/dev/null || [[ -x "$HOME/.cargo/bin/cargo" ]] || die "cargo not found: install Rust"

mkdir -p "$srcdir" "$prefix"
t0=$SECONDS

# ------------------------------------------------------------------ LAMMPS source
fetch_debian_source() {
  local tarball="$srcdir/$lammps_tarball"
  if [[ -f "$tarball" ]]; then
    return
  fi
  say "fetching $lammps_tarball from Debian $debian_suite ($mirror), about 132 MB"
  # A private apt configuration: a deb-src line for trixie in our own sources list, lists and
  # cache, so the system's apt sources and state stay untouched.
  local apt="$srcdir/apt"
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
  local signed=""
  [[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]] \
    && signed="[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
  echo "deb-src ${signed}$mirror $debian_suite main" > "$apt/sources.list"
  local aptopts=(
    -o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
    -o "APT::Sandbox::User=$(id -un)"
  )
  apt-get "${aptopts[@]}" -qq update || die "apt-get update of the private trixie deb-src list failed"
  # `apt-get source` would fetch the tarball, then fail on trixie's .dsc (404 on the mirror);
  # ask apt for the URI and checksum instead and fetch only the orig tarball, verified.
  local line uri sum
  line="$(apt-get "${aptopts[@]}" source --print-uris lammps 2>/dev/null \
          | grep -F "' $lammps_tarball " || true)"
  [[ -n "$line" ]] || die "Debian $debian_suite no longer lists $lammps_tarball (apt-get source --print-uris lammps): update the pin in $0 or set LAMMPS_SOURCE"
  uri="$(sed -n "s/^'\([^']*\)'.*/\1/p" <<< "$line")"
  sum="$(sed -n 's/.* SHA256:\([0-9a-f]*\).*/\1/p' <<< "$line")"
  [[ "$sum" == "$lammps_sha256" ]] || die "$lammps_tarball: Debian's index says SHA256 $sum, pinned $lammps_sha256"
  /usr/lib/apt/apt-helper "${aptopts[@]}" download-file "$uri" "$tarball.part" "SHA256:$sum" >/dev/null \
    || die "download of $uri failed"
  mv "$tarball.part" "$tarball"
  rm -rf "$apt"   # the index (~22 MB) was only needed to find and verify the tarball
}

unpack_debian_source() {
  local tarball="$srcdir/$lammps_tarball"
  local marker="$srcdir/${lammps_tarball%.orig.tar.xz}.unpacked"
  if [[ -f "$marker" && -f "$(cat "$marker")/cmake/CMakeLists.txt" ]]; then
    cat "$marker"
    return
  fi
  say "checking $lammps_tarball"
  [[ "$(sha_stdin < "$tarball")" == "$lammps_sha256" ]] || die "$tarball: checksum mismatch; delete it and re-run"
  say "unpacking $lammps_tarball (about 470 MB)"
  local tmp
  tmp="$(mktemp -d "$srcdir/.unpack.XXXXXX")"
  tar --no-same-owner -xJf "$tarball" -C "$tmp"
  local top
  top="$(find "$tmp" -mindepth 1 -maxdepth 1 -type d)"
  [[ -n "$top" && -f "$top/cmake/CMakeLists.txt" ]] || die "$tarball does not hold a LAMMPS tree"
  local dest="$srcdir/$(basename "$top")"
  rm -rf "$dest"
  mv "$top" "$dest"
  rmdir "$tmp"
  echo "$dest" > "$marker"
  echo "$dest"
}

if [[ -n "${LAMMPS_SOURCE:-}" ]]; then
  lammps_src="$(cd "$LAMMPS_SOURCE" && pwd)"
  [[ -f "$lammps_src/cmake/CMakeLists.txt" ]] || die "LAMMPS_SOURCE=$LAMMPS_SOURCE has no cmake/CMakeLists.txt"
else
  # one download and unpack at a time, even from several checkouts sharing the cache
  exec 8> "$srcdir/.lock"
  flock 8
  fetch_debian_source
  lammps_src="$(unpack_debian_source)"
  flock -u 8
fi
say "LAMMPS source: $lammps_src ($(sed -n 's/^#define LAMMPS_VERSION "\(.*\)"/\1/p' "$lammps_src/src/version.h"))"

# ------------------------------------------------------------------ configure and build
exec 9> "$prefix/.lock"
flock 9
log="$prefix/build.log"
say "configuring $builddir (log: $log)"
nice "$CMAKE" -S "$root/cmake/lammps-builtin" -B "$builddir" -D "LAMMPS_SOURCE=$lammps_src" \
  "${cmake_options[@]}" > "$log" 2>&1 || { tail -n 40 "$log" >&2; die "CMake configuration failed (log: $log)"; }
grep -E '^-- (simforecast|Enabled packages)|LAMMPS Version' "$log" | sed 's/^/  /' >&2 || true

say "building lmp with $jobs jobs (a fresh build tree takes about 7 min at -j2)"
tb=$SECONDS
# make prints one '[ NN%] Building ...' line per object; show the percentage every 10 %
nice "$CMAKE" --build "$builddir" --target lmp -j "$jobs" 2>&1 | tee -a "$log" | {
  shown=-10
  while IFS= read -r line; do
    if [[ "$line" =~ ^\[\ *([0-9]+)%\] ]] && (( BASH_REMATCH[1] >= shown + 10 )); then
      shown=${BASH_REMATCH[1]}
      say "  ${shown}% ($((SECONDS - tb)) s)"
    elif [[ "$line" == *"error:"* || "$line" == *"*** "* ]]; then
      echo "$line" >&2
    fi
  done
} || { tail -n 40 "$log" >&2; die "build failed (log: $log)"; }
say "build took $((SECONDS - tb)) s"

# ------------------------------------------------------------------ check and install
lmp="$builddir/lmp"
[[ -x "$lmp" ]] || die "no $lmp after the build"
help="$("$lmp" -h)"
# the fix must be in the binary's list of fix styles, and PLUGIN must not be
section() { awk -v h="$1" 'index($0, h) == 1 {f = 1; next} f && (/^\* / || /^List of/) {exit} f'; }
section '* Fix styles' <<< "$help" | grep -qw forecast || die "$lmp does not list fix style forecast"
! section 'Installed packages' <<< "$help" | grep -qw PLUGIN || die "$lmp unexpectedly has the PLUGIN package"
version="$(sed -n 's/^Large-scale Atomic\/Molecular Massively Parallel Simulator - \(.*\)$/\1/p' <<< "$help" | head -n1)"

mkdir -p "$prefix/bin"
cp "$lmp" "$prefix/bin/lmp.new"
mv -f "$prefix/bin/lmp.new" "$prefix/bin/lmp"
# the campaign mode's library, found next to lmp (the fix dlopens it for `campaign DIR` only)
campaign_lib="$builddir/libsimforecast_campaign.so"
[[ -f "$campaign_lib" ]] || die "no $campaign_lib after the build (copied there beside lmp by cmake/lammps-builtin)"
cp "$campaign_lib" "$prefix/bin/libsimforecast_campaign.so.new"
mv -f "$prefix/bin/libsimforecast_campaign.so.new" "$prefix/bin/libsimforecast_campaign.so"
# a script, not a symlink: MPICH's hydra looks for hydra_pmi_proxy beside the path it was run as
printf '#!/bin/bash\n# the MPI launcher matching this lmp (tools/build-lammps-builtin.sh)\nexec %q "$@"\n' \
  "$mpiexec" > "$prefix/bin/mpiexec.new"
chmod +x "$prefix/bin/mpiexec.new"
rm -f "$prefix/bin/mpiexec"
mv "$prefix/bin/mpiexec.new" "$prefix/bin/mpiexec"
{
  echo "key: $key"
  echo "lammps: $version"
  echo "lammps_source: $lammps_src"
  echo "checkout: $root"
  echo "mpiexec: $mpiexec"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
} > "$stampfile"
say "done in $((SECONDS - t0)) s: $prefix/bin/lmp (LAMMPS $version, fix forecast built in; MPI runs: $prefix/bin/mpiexec -n 2 $prefix/bin/lmp ...)"
echo "$prefix/bin/lmp"
