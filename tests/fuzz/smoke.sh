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
# libFuzzer's own default exit code on a finding is 77, which meson reads
# as "skipped": make every finding a failure.
export LSAN_OPTIONS="suppressions=$(dirname "$0")/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
"$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-error_exitcode=1 \
	-max_len=2048 -print_final_stats=1 \
	-artifact_prefix="$PWD/$name-" "$work/corpus"
