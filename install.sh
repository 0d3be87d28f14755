#!/bin/sh
# Sets a machine up for wasmctl: checks the Rust toolchain, adds the wasm32-wasip2 target,
# and installs wasmctl from this checkout. POSIX sh, idempotent, never prompts.
set -eu

usage() {
    cat <<'EOF'
Usage: ./install.sh [--prefix DIR] [--debug] [--no-install]

Sets this machine up to build and serve WebAssembly components with wasmctl:
  1. checks that cargo and rustup are installed (and says how to get them if not),
  2. adds the Rust target wasm32-wasip2 (components are built for it),
  3. installs wasmctl from this checkout with `cargo install --path cli --locked`.

Options:
  --prefix DIR   install into DIR/bin instead of cargo's default (~/.cargo/bin)
  --debug        build without optimisations: much faster to build, slower to run
                 (meant for CI smoke tests)
  --no-install   only set up the toolchain; do not install wasmctl
  -h, --help     show this help

Running it again is safe: what is already set up is left as it is.
EOF
}

say() { printf 'install.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

prefix=""
# `cargo install` builds with the release profile unless told `--debug`; it has no
# `--release` flag (cargo rejects one), so the default adds nothing.
debug=""
install=yes
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix)
            [ $# -ge 2 ] || die "--prefix needs a directory"
            prefix=$2
            shift 2
            ;;
        --prefix=*) prefix=${1#--prefix=}; shift ;;
        --debug) debug="--debug"; shift ;;
        --no-install) install=no; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option '$1'" ;;
    esac
done

here=$(cd "$(dirname "$0")" && pwd)
[ -f "$here/cli/Cargo.toml" ] || die "run install.sh from a wasmctl checkout (no cli/Cargo.toml next to it)"

if ! command -v cargo >/dev/null 2>&1 || ! command -v rustup >/dev/null 2>&1; then
    die "cargo and rustup are required. Install Rust with:
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y
then open a new shell (or run: . \"\$HOME/.cargo/env\") and run ./install.sh again."
fi
say "using $(cargo --version)"

target=wasm32-wasip2
if rustup target list --installed 2>/dev/null | grep -qx "$target"; then
    say "rust target $target is already installed"
else
    say "adding rust target $target"
    rustup target add "$target" || die "could not add the $target target; try: rustup target add $target"
fi

[ "$install" = yes ] || { say "toolchain ready (wasmctl not installed: --no-install)"; exit 0; }

set -- install --path "$here/cli" --locked --force
[ -z "$debug" ] || set -- "$@" "$debug"
if [ -n "$prefix" ]; then
    mkdir -p "$prefix" || die "cannot create prefix directory $prefix"
    prefix=$(cd "$prefix" && pwd)
    set -- "$@" --root "$prefix"
    bindir="$prefix/bin"
else
    bindir="${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin"
fi
say "building and installing wasmctl (${debug:+debug build, }this takes a few minutes on the first run)"
cargo "$@" || die "cargo install failed; see the messages above"

"$bindir/wasmctl" --version >/dev/null 2>&1 || die "wasmctl was installed to $bindir but does not run"
say "installed $("$bindir/wasmctl" --version) to $bindir/wasmctl"
case ":$PATH:" in
    *":$bindir:"*) ;;
    *) say "note: $bindir is not on your PATH; add it: export PATH=\"$bindir:\$PATH\"" ;;
esac
