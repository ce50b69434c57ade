#!/usr/bin/env bash
# tests/run.sh: THE test command: deps, build, every meson suite, unit under ASan/UBSan, fuzz, every netns lab test, one summary.
#
# Suites that need root or a kernel feature skip (exit 77) when they cannot
# run. Closing line: "N passed, N failed, N skipped"; exit status non-zero
# when anything failed.
#
# Environment: FERRY_BUILD (default build; the ASan and fuzz builds go to
# $FERRY_BUILD-asan and $FERRY_BUILD-fuzz), CC (default clang).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${FERRY_BUILD:-build}
export FERRY_BUILD=$BUILD
ASAN=$BUILD-asan
FUZZ=$BUILD-fuzz
LOGS=$BUILD-logs
export CC=${CC:-clang}
START=$SECONDS

mkdir -p "$LOGS"
NAMES=()
RESULTS=()
NOTES=()
NPASS=0
NFAIL=0
NSKIP=0

record() { # NAME STATUS(pass|fail|skip) SECONDS NOTE
	NAMES+=("$1")
	RESULTS+=("$2")
	NOTES+=("$(printf '%4ss  %s' "$3" "$4")")
	case $2 in
	pass) NPASS=$((NPASS + 1)) ;;
	fail) NFAIL=$((NFAIL + 1)) ;;
	skip) NSKIP=$((NSKIP + 1)) ;;
	esac
}

# run_logged LOG TIMEOUT CMD...: CMD's output to the terminal and LOG; its status.
run_logged() {
	local log=$1 limit=$2 rc
	shift 2
	set +e
	timeout --foreground -k 20 "$limit" "$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	set -e
	[ "$rc" -ne 124 ] || echo "TIMEOUT: $* ran over ${limit}s" | tee -a "$log"
	return "$rc"
}

# meson_status LOG: after a successful `meson test`: none (no test in the
# suite), skip (every test skipped) or pass.
meson_status() {
	local log=$1 ok skipped
	if grep -q '^No suitable tests defined' "$log"; then
		echo none
		return
	fi
	ok=$(awk '/^Ok:/ {print $2}' "$log" | tail -n 1)
	skipped=$(awk '/^Skipped:/ {print $2}' "$log" | tail -n 1)
	if [ "${ok:-0}" -eq 0 ] && [ "${skipped:-0}" -gt 0 ]; then echo skip; else echo pass; fi
}

# suite NAME TIMEOUT CMD...: one counted suite (a meson test run or a script).
suite() {
	local name=$1 limit=$2 log t0=$SECONDS rc=0 status note=""
	shift 2
	log=$LOGS/$(echo "$name" | tr -c 'A-Za-z0-9_.-' '_').log
	echo
	echo "=== $name"
	run_logged "$log" "$limit" "$@" || rc=$?
	if [ "$rc" -eq 0 ]; then
		status=pass
		if [ "$1" = meson ]; then
			status=$(meson_status "$log")
			case $status in
			none) status=skip note="no tests defined in this suite" ;;
			skip) note="every test skipped (see $log)" ;;
			esac
		fi
	elif [ "$rc" -eq 77 ]; then
		status=skip
		note=$(grep -h '^SKIP' "$log" | tail -n 1 | cut -c1-100)
	else
		status=fail
		note="exit $rc; log: $log"
	fi
	record "$name" "$status" $((SECONDS - t0)) "$note"
}

# build NAME DIR OPTION...: meson setup (CC=clang) or reconfigure, then
# ninja, counted as a suite. A directory set up with another compiler is
# wiped first.
build() {
	local name=$1 dir=$2
	shift 2
	# shellcheck disable=SC2016 # expanded by the inner bash
	suite "$name" 900 bash -c '
		set -e
		dir=$1
		shift
		if [ ! -f "$dir/meson-private/coredata.dat" ]; then
			meson setup "$dir" "$@"
		elif [ "$CC" = clang ] &&
			! grep -q "C compiler for the host machine: clang" "$dir/meson-logs/meson-log.txt"; then
			meson setup --wipe "$dir" "$@"
		else
			meson setup --reconfigure "$dir" "$@"
		fi
		ninja -C "$dir"' configure "$dir" "$@"
	[ "${RESULTS[-1]}" = pass ]
}

not_run() { # NAME WHY
	echo
	echo "=== $1: not run ($2)"
	record "$1" fail 0 "not run: $2"
}

# --- dependencies ----------------------------------------------------------
suite "deps (tests/deps.sh)" 900 bash tests/deps.sh

# --- the main build: every suite defined there ---------------------------
BUILD_OK=0
if build "build ($BUILD)" "$BUILD"; then
	BUILD_OK=1
	mapfile -t SUITES < <(meson introspect "$BUILD" --tests |
		python3 -c 'import json, sys
seen = []
for t in json.load(sys.stdin):
    for s in t["suite"]:
        s = s.split(":", 1)[-1]
        if s not in seen:
            seen.append(s)
print("\n".join(seen))')
	for s in unit bpf; do
		printf '%s\n' "${SUITES[@]}" | grep -qx "$s" || SUITES+=("$s")
	done
	for s in "${SUITES[@]}"; do
		[ -n "$s" ] || continue
		suite "$s ($BUILD)" 600 meson test -C "$BUILD" --print-errorlogs --suite "$s"
	done
else
	not_run "unit, bpf ($BUILD)" "the build failed"
fi

# --- unit suite under AddressSanitizer + UndefinedBehaviorSanitizer -------
# jemalloc would replace the allocator ASan instruments: left out here.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
if build "build ($ASAN, ASan+UBSan)" "$ASAN" -Db_sanitize=address,undefined \
	-Db_lundef=false -Djemalloc=disabled; then
	suite "unit ($ASAN, ASan+UBSan)" 600 meson test -C "$ASAN" --print-errorlogs --suite unit
else
	not_run "unit ($ASAN)" "the ASan build failed"
fi

# --- fuzz targets (libFuzzer, clang) ---------------------------------------
if build "build ($FUZZ, libFuzzer)" "$FUZZ" -Dfuzz=true; then
	suite "fuzz ($FUZZ)" 600 meson test -C "$FUZZ" --print-errorlogs --suite fuzz
else
	not_run "fuzz ($FUZZ)" "the fuzz build failed"
fi

# --- the netns lab ------------------------------------------------------------
for t in tests/lab/test_*.sh; do
	[ -e "$t" ] || continue
	if [ "$BUILD_OK" -ne 1 ]; then
		not_run "lab $(basename "$t" .sh)" "the build failed"
		continue
	fi
	suite "lab $(basename "$t" .sh)" 300 bash "$t"
done

# --- summary -------------------------------------------------------------------
echo
echo "=== summary ($((SECONDS - START))s; logs in $LOGS/)"
for i in "${!NAMES[@]}"; do
	printf '  %-4s  %-42s %s\n' "${RESULTS[$i]^^}" "${NAMES[$i]}" "${NOTES[$i]}"
done
echo "$NPASS passed, $NFAIL failed, $NSKIP skipped"
[ "$NFAIL" -eq 0 ]
