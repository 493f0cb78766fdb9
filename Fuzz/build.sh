#!/usr/bin/env bash
# Builds the libFuzzer target for AuditStreamReader without SwiftPM.
#
# The library modules (AuditJSON, AuditModel, AuditInputs) are compiled with swiftc as
# separate modules, exactly as SwiftPM would lay them out, but with coverage
# instrumentation (-sanitize=fuzzer) and AddressSanitizer; then the fuzzer file is
# linked against them and libFuzzer's main.
#
# Usage: Fuzz/build.sh [output-dir]      (default: .build-fuzz; binary: <dir>/fuzz-reader)
# Environment: SANITIZERS (default fuzzer,address), OPT (default -O).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/.build-fuzz}"
mkdir -p "$out/modules"
out="$(cd "$out" && pwd)"
sanitizers="${SANITIZERS:-fuzzer,address}"
opt="${OPT:--O}"

# SwiftPM generates a module map for a C target's include/ directory; do the same here.
mkdir -p "$out/modules/CAuditSIMD"
cat > "$out/modules/CAuditSIMD/module.modulemap" <<EOF
module CAuditSIMD {
    header "$root/Sources/CAuditSIMD/include/CAuditSIMD.h"
    export *
}
EOF

common=(
    -swift-version 6
    -parse-as-library
    "$opt" -g
    -sanitize="$sanitizers"
    -enable-upcoming-feature ExistentialAny
    -enable-upcoming-feature MemberImportVisibility
    -I "$out/modules"                       # compiled .swiftmodule files
    -I "$out/modules/CAuditSIMD"            # CAuditSIMD module map
    -I "$root/Sources/CZstd"                # system-library module maps
    -I "$root/Sources/CZlib"
)

# Compiles Sources/<module>/*.swift into <out>/<module>.o and its .swiftmodule.
build_module() {
    local name="$1"
    echo "compiling $name" >&2
    swiftc "${common[@]}" -wmo -c -module-name "$name" \
        -emit-module -emit-module-path "$out/modules/$name.swiftmodule" \
        -o "$out/$name.o" "$root/Sources/$name"/*.swift
}

# C sources of CAuditSIMD (if any), with the toolchain's clang and the same instrumentation.
clang="$(dirname "$(command -v swiftc)")/clang"
[ -x "$clang" ] || clang=clang
c_objects=()
for c in "$root"/Sources/CAuditSIMD/*.c; do
    [ -e "$c" ] || continue
    obj="$out/CAuditSIMD-$(basename "${c%.c}").o"
    echo "compiling $(basename "$c")" >&2
    "$clang" -c -O2 -g -fsanitize="${sanitizers/fuzzer/fuzzer-no-link}" \
        -I "$root/Sources/CAuditSIMD/include" -o "$obj" "$c"
    c_objects+=("$obj")
done

build_module AuditJSON
build_module AuditModel
build_module AuditInputs

echo "linking fuzz-reader" >&2
swiftc "${common[@]}" -module-name ReaderFuzzer \
    "$root/Fuzz/ReaderFuzzer.swift" \
    "$out/AuditJSON.o" "$out/AuditModel.o" "$out/AuditInputs.o" ${c_objects[@]+"${c_objects[@]}"} \
    -lzstd -lz -use-ld=lld \
    -o "$out/fuzz-reader"

echo "$out/fuzz-reader"
