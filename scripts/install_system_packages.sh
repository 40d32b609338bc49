#!/usr/bin/env bash
# System packages the tests need beyond the Python venv: Debian's chromium renders the HTML
# report headless (tests/workflow/test_report.py). Idempotent: does nothing when chromium is present.
# Needs root (CI runs as root); a developer without it gets a skipped report test, not a failure.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install_system_packages.sh: chromium missing and not root; run: sudo apt-get install -y chromium" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
chromium --version
