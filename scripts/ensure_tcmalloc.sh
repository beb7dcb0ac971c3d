#!/usr/bin/env bash
# Training runs under tcmalloc (Makefile: TRAIN_PYTHON). Install Debian's libtcmalloc-minimal4 when missing; never
# fail the build over it: training then runs on glibc's malloc, only slower.
set -uo pipefail
if compgen -G "/usr/lib/*/libtcmalloc_minimal.so.4" >/dev/null; then exit 0; fi
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "tcmalloc not found: installing Debian's libtcmalloc-minimal4" >&2
if ! { $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends libtcmalloc-minimal4; }; then
  echo "WARNING: could not install libtcmalloc-minimal4; training runs on glibc's malloc" >&2
fi
exit 0
