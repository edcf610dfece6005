#!/usr/bin/env bash
# Debian's chromium for the app tier's headless browser test. Idempotent: does nothing when a chromium
# is on PATH. Installs from the Debian package registry (no browser download by any tool); needs root
# or password-less sudo. About 25 s on a clean Debian 12 machine.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo -n"
fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends chromium
command -v chromium
