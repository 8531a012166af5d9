#!/usr/bin/env bash
# Set up etcd-py on a fresh machine and run the main job: a single-member `etcd`
# on localhost:2379, then a put and a get with `etcdctl`. Leaves the member
# running unless STOP=1; its data dir is ./default.etcd, its log ./etcd.log.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-python3}
"$PY" -m pip install -q --disable-pip-version-check -e "$root" 2>&1 | grep -v -i -E "warning|notice" || true
bindir=$("$PY" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
export PATH="$bindir:$PATH"

etcd > etcd.log 2>&1 &
pid=$!
echo "etcd started (pid $pid, log ./etcd.log)"
for _ in $(seq 1 300); do
  if etcdctl endpoint health >/dev/null 2>&1; then break; fi
  kill -0 "$pid" 2>/dev/null || { echo "etcd exited; see etcd.log" >&2; tail -5 etcd.log >&2; exit 1; }
  sleep 0.1
done
etcdctl put greeting "Hello, etcd"
etcdctl get greeting
if [ "${STOP:-0}" = 1 ]; then kill "$pid"; wait "$pid" || true; fi
