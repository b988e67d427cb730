# Sourced by .ci/run: builds ferry.exe for x86_64-pc-windows-gnu, sets up Wine to run it, and
# exports FERRY_WINE_EXE, which turns on the Windows tests (tests/it/windows.rs) in the test run
# that follows. Run alone (`bash .ci/windows.sh`), it also runs those tests (debug build).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"

echo "== Windows: the x86_64-pc-windows-gnu target, mingw-w64 (linker, C parts of ring) and Wine"
# (rustup reaches the network only when the target is missing.)
rustup target list --installed | grep -qx x86_64-pc-windows-gnu \
    || rustup target add x86_64-pc-windows-gnu
if ! command -v x86_64-w64-mingw32-gcc >/dev/null || ! command -v wine >/dev/null \
    || ! [ -x /usr/lib/wine/wine64 ]; then
    # No X server needed: ferry.exe is a console program, and Wine runs those headless.
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        gcc-mingw-w64-x86-64 wine wine64
fi

echo "== Windows: build ferry.exe"
# Profile windows-ci (Cargo.toml): release optimizations without fat LTO, to keep CI short.
time cargo build --locked --profile windows-ci --target x86_64-pc-windows-gnu --bin ferry
WIN_OUT="${CARGO_TARGET_DIR:-target}/x86_64-pc-windows-gnu/windows-ci"
# Test-only: Wine 8 has no bcryptprimitives.dll, whose ProcessPrng Rust's std imports (see the
# C file). Beside the exe it is loaded instead; real Windows has its own.
x86_64-w64-mingw32-gcc -shared -O2 -o "$WIN_OUT/bcryptprimitives.dll" \
    .ci/wine/bcryptprimitives.c -ladvapi32

echo "== Windows: a fresh Wine prefix"
export WINEDEBUG=-all WINEARCH=win64
WINEPREFIX="$(mktemp -d)/wine"
export WINEPREFIX
# Ends this prefix's wineserver (and the Windows services in it) when CI ends.
trap 'wineserver -k >/dev/null 2>&1 || true; rm -rf "$(dirname "$WINEPREFIX")"' EXIT
# Without wine32 it says it cannot open syswow64\rundll32.exe: harmless, 64-bit programs run.
time wineboot -i >/dev/null 2>&1 || true
wineserver -w
# One persistent Wine session for the whole run (ended by the trap above): the Windows services
# the tests install keep running between two Wine programs, and no test starts while a session
# is shutting down (a service installed then was seen to vanish).
wineserver -p
# Output through a file: Wine's daemons, started by the first program, inherit its handles.
wine "$WIN_OUT/ferry.exe" --version </dev/null >"$WINEPREFIX.version" 2>&1 \
    || { cat "$WINEPREFIX.version"; echo "ferry.exe does not start under Wine"; exit 1; }
cat "$WINEPREFIX.version"

export FERRY_WINE_EXE="$(realpath "$WIN_OUT/ferry.exe")"

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    echo "== Windows: the tests under Wine"
    time cargo test --locked --test it windows:: -- --test-threads=2
fi
