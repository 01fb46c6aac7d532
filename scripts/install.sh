#!/usr/bin/env bash
# `make install`'s last step: copies the built binary into a bin folder and tells the user how to
# call it: by name when that folder is on PATH, else the full path and the line that adds it.
#   scripts/install.sh BUILT_BINARY BIN_DIR
set -euo pipefail
binary=$1
bindir=$2
mkdir -p "$bindir"
bindir=$(cd "$bindir" && pwd)
install -m 755 "$binary" "$bindir/trace-compat"
echo "install: trace-compat is at $bindir/trace-compat"
case ":$PATH:" in
  *":$bindir:"*) echo "install: $bindir is on your PATH: run \`trace-compat --help\`" ;;
  *) echo "install: $bindir is NOT on your PATH: call it as $bindir/trace-compat, or add it:"
     echo "    export PATH=\"$bindir:\$PATH\"     # (put this line in ~/.bashrc or ~/.profile to keep it)" ;;
esac
