#!/usr/bin/env bash
# Builds every *.c here into a .wasm UDF module with Debian's clang (wasm32, no libc).
# Needs: clang and lld (wasm-ld). On Debian/Ubuntu: apt-get install -y clang lld
# Usage: build.sh [output-directory]   (default: next to the sources)
set -euo pipefail
source_directory="$(cd "$(dirname "$0")" && pwd)"
output_directory="${1:-$source_directory}"
mkdir -p "$output_directory"
for source in "$source_directory"/*.c; do
    name="$(basename "$source" .c)"
    clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry -Wl,--export-all \
        -o "$output_directory/$name.wasm" "$source"
    echo "$output_directory/$name.wasm"
done
