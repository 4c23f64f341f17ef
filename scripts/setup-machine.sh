#!/usr/bin/env bash
# Installs the system packages TitikTemu needs and a fresh machine may lack.
# Debian/Ubuntu (apt-get); run as root or with sudo available. Idempotent.
#   - PostgreSQL server binaries (initdb, postgres) for the private dev/test cluster
#   - protoc and the protobuf well-known types, needed to build the Apollo Router
#   - Chromium, for the browser tests (driven by playwright-core; no browser download)
set -euo pipefail

missing=()
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
if ! command -v protoc >/dev/null 2>&1; then
  missing+=(protobuf-compiler)
fi
if [ ! -f /usr/include/google/protobuf/timestamp.proto ]; then
  missing+=(libprotobuf-dev)
fi
if ! command -v chromium >/dev/null 2>&1; then
  missing+=(chromium)
fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: system packages already present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: please install: ${missing[*]} (no apt-get on this machine)" >&2
  exit 1
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
