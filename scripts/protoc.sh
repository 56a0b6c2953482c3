#!/usr/bin/env bash
# Generate the Python gRPC code from proto/ into OUT (default: the repository root), where the
# proto package edgeplug.usage.v1 becomes the module edgeplug.usage.v1. `make proto` runs it;
# tests/metering/test_grpc_generated_code.py checks the checked-in code matches.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="$(realpath "${1:-.}")"
PROTOS=$(cd proto && find . -name '*.proto' | sort)
cd proto
../.venv/bin/python -m grpc_tools.protoc -I. --python_out="$OUT" --pyi_out="$OUT" --grpc_python_out="$OUT" $PROTOS
