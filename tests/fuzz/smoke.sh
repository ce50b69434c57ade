# tests/fuzz/smoke.sh: runs a libFuzzer target for a bounded time over a scratch copy of the seed corpus: sh smoke.sh FUZZER CORPUS_DIR SECONDS.
set -eu
fuzzer=$1
corpus=$2
secs=${3:-20}
work=$(mktemp -d "${TMPDIR:-/tmp}/ferry-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir "$work/corpus"
cp "$corpus"/* "$work/corpus/"
# Crashing inputs land next to the test log (the build directory), not
# in the scratch directory that is removed.
name=$(basename "$fuzzer")
"$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-max_len=2048 -print_final_stats=1 \
	-artifact_prefix="$PWD/$name-" "$work/corpus"
