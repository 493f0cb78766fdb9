#!/usr/bin/env bash
# Quick start, step 1: install what a fresh Debian/Ubuntu machine with the Swift
# toolchain lacks, build kaudit, and scan the bundled sample log.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: libzstd-dev, zlib1g-dev and libyaml-dev (linked through SwiftPM
# systemLibrary targets, found with pkg-config), the zstd/gzip tools the tests use to make archives,
# openssl (the HTTPS delivery test makes its own CA with it, the webhook sink's tests make
# their certificates with it) and chromium (the test of `scan --report` renders the HTML
# report headless and looks at it).
packages=(libzstd-dev zlib1g-dev libyaml-dev pkg-config zstd gzip openssl chromium)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "setup: installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

swift build --product kaudit
.build/debug/kaudit scan SampleLogs/streams/sample.ndjson
