#!/usr/bin/env bash
# Makes sure the C/C++ toolchain pieces that sextant-llm's `local` feature
# needs are on the machine: llama-cpp-sys-2 builds llama.cpp from vendored
# source with cmake and generates its bindings with bindgen (libclang).
# Installs Debian's packages only when something is missing; re-running does
# nothing.
set -euo pipefail
have() {
    command -v cmake >/dev/null 2>&1 || return 1
    command -v c++ >/dev/null 2>&1 || command -v g++ >/dev/null 2>&1 || return 1
    # bindgen loads libclang at build time (any version will do); the
    # unversioned .so comes with the -dev package, which also brings clang's
    # own headers that bindgen needs. (libclang-cpp is another library.)
    compgen -G '/usr/lib/llvm-*/lib/libclang.so' >/dev/null \
        || compgen -G '/usr/lib/*/libclang.so' >/dev/null \
        || compgen -G '/usr/lib/*/libclang-[0-9]*.so' >/dev/null
}
if have; then
    exit 0
fi
echo "installing cmake and libclang-dev for the local LLM backend (llama.cpp)"
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq cmake libclang-dev g++ >/dev/null
have
