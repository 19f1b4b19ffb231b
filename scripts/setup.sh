#!/usr/bin/env bash
# Set up a fresh machine: the Debian servers the conformance tests talk to,
# then this package with its test extras. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(postfix dnsmasq-base chromium sip-tester dovecot-imapd postgresql redis-server iproute2 procps)
if [ "${#APT_PACKAGES[@]}" -gt 0 ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi

python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'
