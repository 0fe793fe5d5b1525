#!/usr/bin/env bash
# Generates Python code (+ .pyi stubs) from protos/ into the shared library.
#   proto.sh generate      write into libs/kintsugi/
#   proto.sh check         fail if the committed code differs from a fresh generation
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv_bin="$root/.venv/bin"
generated_packages=(events intake)

generate_into() {
  local out="$1"
  mkdir -p "$out"
  mapfile -t files < <(cd "$root/protos" && find kintsugi -name '*.proto' | sort)
  mapfile -t service_files < <(cd "$root/protos" && grep -l '^service ' "${files[@]}")
  local protoc=("$venv_bin/python" -m grpc_tools.protoc -I .)
  (
    cd "$root/protos"
    export PATH="$venv_bin:$PATH"
    "${protoc[@]}" --python_out="$out" --mypy_out=quiet:"$out" "${files[@]}"
    "${protoc[@]}" --grpc_python_out="$out" --mypy_grpc_out=quiet:"$out" "${service_files[@]}"
  )
  # Generated modules import each other as kintsugi.<package>.v1; make those packages.
  find "$out/kintsugi" -mindepth 1 -type d -exec touch {}/__init__.py \;
}

case "${1:-}" in
  generate)
    for package in "${generated_packages[@]}"; do rm -rf "$root/libs/kintsugi/$package"; done
    generate_into "$root/libs"
    ;;
  check)
    scratch="$(mktemp -d)"
    trap 'rm -rf "$scratch"' EXIT
    generate_into "$scratch"
    status=0
    for package in "${generated_packages[@]}"; do
      diff -r -x __pycache__ "$scratch/kintsugi/$package" "$root/libs/kintsugi/$package" || status=1
    done
    if [ "$status" -ne 0 ]; then
      echo "generated protobuf code is out of date: run 'make proto' and commit" >&2
      exit 1
    fi
    echo "generated protobuf code matches protos/"
    ;;
  *) echo "usage: $0 generate|check" >&2; exit 2 ;;
esac
