#!/usr/bin/env bash
# TorchServe 0.12 needs Java 11+ (17 recommended): install Debian's headless JRE 17 when none is found.
set -euo pipefail
if command -v java >/dev/null 2>&1 && java -version 2>&1 | grep -Eq 'version "(1[1-9]|2[0-9])'; then
  exit 0
fi
echo "Java 11+ not found: installing openjdk-17-jre-headless" >&2
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q openjdk-17-jre-headless
