#!/bin/sh
# perf/run.sh: build, run the benchmarks (xdp_bench, maglev_bench), keep raw outputs under perf/results/, print a summary.
#
# usage: perf/run.sh [xdp_bench options...]   e.g. perf/run.sh -n 2000000 -r 7
# Needs root (xdp_bench loads BPF programs). BUILD=dir picks another build dir.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${BUILD:-$root/build}
stamp=$(date +%Y%m%d-%H%M%S)
out=$root/perf/results/$stamp
status=0

if [ "$(id -u)" -ne 0 ]; then
	echo "perf/run.sh: needs root (xdp_bench loads XDP programs: CAP_BPF and CAP_NET_ADMIN)" >&2
	exit 1
fi

if [ ! -d "$build" ]; then
	echo "perf/run.sh: no build dir $build; run: CC=clang meson setup build" >&2
	exit 1
fi
if ! ninja -C "$build" >/dev/null; then
	echo "perf/run.sh: build failed: ninja -C $build" >&2
	exit 1
fi

mkdir -p "$out"
{
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "kernel: $(uname -r)"
	echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
	echo "online_cpus: $(nproc)"
	echo "git: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo none)$(git -C "$root" diff --quiet 2>/dev/null || echo ' (dirty)')"
	echo "loadavg: $(cat /proc/loadavg)"
	echo "bpf_jit_enable: $(cat /proc/sys/net/core/bpf_jit_enable 2>/dev/null)"
	echo "bpf_stats_enabled: $(cat /proc/sys/kernel/bpf_stats_enabled 2>/dev/null)"
	for f in /sys/devices/system/cpu/vulnerabilities/spectre_v2 \
		 /sys/devices/system/cpu/vulnerabilities/spec_rstack_overflow \
		 /sys/devices/system/cpu/vulnerabilities/retbleed; do
		[ -r "$f" ] && echo "$(basename "$f"): $(cat "$f")"
	done
} >"$out/machine.txt"

echo "== XDP forwarding (BPF_PROG_TEST_RUN), raw output: $out/xdp_bench.txt"
if [ -x "$build/perf/xdp_bench" ]; then
	if ! "$build/perf/xdp_bench" "$@" >"$out/xdp_bench.txt" 2>"$out/xdp_bench.err"; then
		echo "xdp_bench failed:" >&2
		cat "$out/xdp_bench.err" >&2
		status=1
	fi
	grep -E '^xdp (header|prog|case|summary)' "$out/xdp_bench.txt"
else
	echo "xdp_bench not built ($build/perf/xdp_bench): skipped"
	status=1
fi

echo
echo "== Maglev ring build, raw output: $out/maglev_bench.txt"
if [ -x "$build/perf/maglev_bench" ]; then
	if ! "$build/perf/maglev_bench" >"$out/maglev_bench.txt" 2>"$out/maglev_bench.err"; then
		echo "maglev_bench failed:" >&2
		cat "$out/maglev_bench.err" >&2
		status=1
	fi
	cat "$out/maglev_bench.txt"
else
	echo "maglev_bench not built ($build/perf/maglev_bench): skipped"
fi

echo
echo "machine: $(sed -n 's/^kernel: //p' "$out/machine.txt"), $(sed -n 's/^cpu: //p' "$out/machine.txt") ($(nproc) CPUs)"
echo "results: $out"
exit $status
