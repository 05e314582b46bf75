#!/usr/bin/env bash
# One shard of a distributed exploration: explores the I-th of N slices of a seed range and
# writes its JSON lines (failures, then a summary line) to OUT_DIR/shard-I.jsonl.
#
#   SCENARIO  scenario file (required)
#   SEEDS     the whole range, e.g. 0..1000000 (required)
#   SHARDS    N (required)
#   SHARD     I, 1-based; defaults to JOB_COMPLETION_INDEX + 1 (a Kubernetes Indexed Job),
#             or PARALLEL_SEQ (GNU parallel)
#   JOBS      parallel runs on this machine (default: nproc)
#   OUT_DIR   where the shard's file and shrunk failures go (default: .)
#   KAFKASIM  the binary (default: kafkasim on PATH)
set -euo pipefail
: "${SCENARIO:?set SCENARIO}" "${SEEDS:?set SEEDS}" "${SHARDS:?set SHARDS}"
if [ -z "${SHARD:-}" ]; then
  if [ -n "${JOB_COMPLETION_INDEX:-}" ]; then SHARD=$((JOB_COMPLETION_INDEX + 1));
  elif [ -n "${PARALLEL_SEQ:-}" ]; then SHARD=$PARALLEL_SEQ;
  else echo "explore-shard.sh: set SHARD (or run as an Indexed Job / under GNU parallel)" >&2; exit 2; fi
fi
OUT_DIR=${OUT_DIR:-.}
mkdir -p "$OUT_DIR"
"${KAFKASIM:-kafkasim}" explore "$SCENARIO" --seeds "$SEEDS" --shard "$SHARD/$SHARDS" \
  --jobs "${JOBS:-$(nproc)}" --quiet --out "$OUT_DIR/failures-$SHARD" > "$OUT_DIR/shard-$SHARD.jsonl"
