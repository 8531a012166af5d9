#!/usr/bin/env bash
# Compile the project's .proto files (src/etcdpy/api/pb/**.proto) into Python
# modules beside them: *_pb2.py and *_pb2_grpc.py, with type stubs (*.pyi) from
# mypy-protobuf. Needs grpcio-tools and mypy-protobuf (pip install -e '.[dev]'). The generated files are
# committed so that installing the package needs no compiler;
# tests/unit/test_proto_generated.py fails when they are stale.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/src"
mapfile -t protos < <(find etcdpy/api/pb -name '*.proto' | sort)
python -m grpc_tools.protoc -I . \
  --python_out=. --pyi_out=. --grpc_python_out=. --mypy_grpc_out=quiet:. "${protos[@]}"
# Services are only declared in rpc/v3lock/v3election; drop empty grpc modules.
for f in $(find etcdpy/api/pb -name '*_pb2_grpc.py'); do
  grep -q 'class .*Servicer' "$f" || rm -f "$f" "${f}i"
done
echo "generated ${#protos[@]} proto files"
