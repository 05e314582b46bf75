#!/usr/bin/env bash
# kafkasim's kernel beside turmoil and a minimal binary-heap event loop on the same ping
# workload, in one process, run alternately; prints round trips per wall second and each
# peer as a ratio of kafkasim's figure (and one JSON line). Usage: benches/peers/run.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")"
cargo run --quiet --release -- --runs "${1:-5}"
