#!/usr/bin/env bash
# Installs the system packages TitikTemu needs and a fresh machine may lack.
# Debian/Ubuntu (apt-get); run as root or with sudo available. Idempotent.
#   - PostgreSQL server binaries (initdb, postgres) for the private dev/test cluster
#   - protoc and the protobuf well-known types, needed to build the Apollo Router
#   - Chromium, for the browser tests (driven by playwright-core; no browser download)
#   - PgBouncer, for the pooler tests (transaction mode), and HAProxy, for the replica tests
#   - kubernetes-validate (PyPI, pinned), for validating deploy/kubernetes offline
#   - Schemathesis (PyPI, pinned), for fuzzing the REST APIs against their OpenAPI documents
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
if [ ! -x /usr/sbin/pgbouncer ] && ! command -v pgbouncer >/dev/null 2>&1; then
  missing+=(pgbouncer)
fi
if [ ! -x /usr/sbin/haproxy ] && ! command -v haproxy >/dev/null 2>&1; then
  missing+=(haproxy)
fi
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
  missing+=(prometheus)
fi
if ! python3 -c "import kubernetes_validate" >/dev/null 2>&1; then
  echo "setup: installing kubernetes-validate"
  python3 -m pip install --quiet --user kubernetes-validate==1.31.0 2>/dev/null \
    || python3 -m pip install --quiet kubernetes-validate==1.31.0
fi
# Schemathesis fuzzes the REST APIs against their OpenAPI documents (e2e/tests/openapi.rs).
SCHEMATHESIS_VERSION=4.32.5
if ! { command -v schemathesis || ls "$HOME/.local/bin/schemathesis"; } >/dev/null 2>&1 \
  || ! { schemathesis --version 2>/dev/null || "$HOME/.local/bin/schemathesis" --version; } | grep -q "$SCHEMATHESIS_VERSION"; then
  echo "setup: installing schemathesis $SCHEMATHESIS_VERSION"
  python3 -m pip install --quiet --user "schemathesis==$SCHEMATHESIS_VERSION" 2>/dev/null \
    || python3 -m pip install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
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
