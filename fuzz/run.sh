#!/usr/bin/env bash
# Fuzzes model loading for a bounded time: `fuzz/run.sh [SECONDS]` (default 600).
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). The corpus
# starts from every model file in the repository and the seeds in fuzz/seeds/; it grows
# in fuzz/corpus/ (not committed). A crash leaves its input in fuzz/artifacts/load_model/;
# replay it with `cargo +nightly fuzz run load_model fuzz/artifacts/load_model/FILE`.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-600}"
mkdir -p corpus/load_model
cp ../models/*.toml ../models/theory/*.toml ../tests/models/*.toml seeds/* corpus/load_model/
exec cargo +nightly fuzz run load_model corpus/load_model -- -max_total_time="$seconds" -dict=toml.dict -max_len=65536 -timeout=10 -rss_limit_mb=4096 -print_final_stats=1
