#!/usr/bin/env bash
# perf/dpdk_bench.sh: packets per second per forwarding lcore of the DPDK engine next to dpdk-testpmd io forwarding on the same vdevs (net_ring pairs, and net_pcap replay -> net_null), 64 and 512-byte frames, 1 and 2 lcores, interleaved runs, medians; raw output kept under perf/results/.
#
# usage: perf/dpdk_bench.sh [-r RUNS] [-t SECONDS] [-w WARMUP] [-k FLOWS] [-H]
#   -r  runs of the whole series (default 5); medians over them
#   -t  seconds measured per case (default 3), after -w seconds (default 1)
#   -k  established flows per lcore (default 1024)
#   -H  set up hugepages first (mount hugetlbfs, 256 x 2 MiB; needs root)
# BUILD=dir picks another build directory (default build).
#
# Each run measures, for each frame size and lcore count, in this order:
# on net_ring pairs (a port's TX ring is its RX ring: the PMD moves
# pointers, never touches a frame)
#   testpmd   dpdk-testpmd --forward-mode=io --tx-first (Rx-pps of its
#             stats periods after the warm-up, per lcore, median)
#   io        dpdk_bench --mode io: the same loop in our harness
#   rewrite   dpdk_bench --mode rewrite: + each frame written afresh at the
#             PMD's offset (the harness's own cost)
#   slide     dpdk_bench --mode ferry --align slide: + dp_process_burst
#   trust     dpdk_bench --mode ferry --align trust
# on net_pcap -> net_null (the RX PMD writes every frame into a fresh mbuf,
# replaying a pcap of the K flows, rx_pcap=F,infinite_rx=1; the TX PMD
# frees what it is sent, no-rx=1)
#   ptestpmd  dpdk-testpmd --forward-mode=io on those ports
#   pio       dpdk_bench --ports pcap --mode io
#   pslide    dpdk_bench --ports pcap --mode ferry --align slide
#   ptrust    dpdk_bench --ports pcap --mode ferry --align trust
# Lcore placement on a 2-CPU machine: 1 lcore runs on CPU 1 (testpmd's
# main lcore, which only sleeps and prints, on CPU 0); 2 lcores run on CPUs
# 0 and 1 (testpmd's main lcore shares CPU 0 with a forwarding lcore).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${BUILD:-$root/build}
runs=5 secs=3 warm=1 flows=1024 setup_huge=0
while getopts "r:t:w:k:H" o; do
	case $o in
	r) runs=$OPTARG ;;
	t) secs=$OPTARG ;;
	w) warm=$OPTARG ;;
	k) flows=$OPTARG ;;
	H) setup_huge=1 ;;
	*) sed -n '3,9p' "$0" >&2; exit 2 ;;
	esac
done

bench=$build/perf/dpdk_bench
testpmd=$(command -v dpdk-testpmd || true)
[ -x "$bench" ] || { echo "dpdk_bench.sh: $bench not built (ninja -C $build; needs libdpdk-dev)" >&2; exit 1; }
[ -n "$testpmd" ] || { echo "dpdk_bench.sh: dpdk-testpmd not found (apt-get install dpdk-dev)" >&2; exit 1; }

if [ "$setup_huge" = 1 ]; then
	mkdir -p /dev/hugepages
	mountpoint -q /dev/hugepages || mount -t hugetlbfs nodev /dev/hugepages
	[ "$(cat /proc/sys/vm/nr_hugepages)" -ge 256 ] || echo 256 >/proc/sys/vm/nr_hugepages
fi
free_huge=$(awk '/^HugePages_Free:/ {print $2}' /proc/meminfo)
if mountpoint -q /dev/hugepages 2>/dev/null && [ "${free_huge:-0}" -ge 128 ]; then
	mem=(--huge-unlink)
	memnote="hugepages (2 MiB, $free_huge free)"
else
	mem=(--no-huge -m 512)
	memnote="no hugepages (--no-huge -m 512)"
fi

stamp=$(date +%Y%m%d-%H%M%S)
out=$root/perf/results/$stamp-dpdk
mkdir -p "$out"
{
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "kernel: $(uname -r)"
	echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
	echo "online_cpus: $(nproc)"
	echo "dpdk: $(pkg-config --modversion libdpdk 2>/dev/null || echo ?)"
	echo "memory: $memnote"
	echo "git: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo none)$(git -C "$root" diff --quiet 2>/dev/null || echo ' (dirty)')"
	echo "loadavg: $(cat /proc/loadavg)"
	echo "runs=$runs seconds=$secs warmup=$warm flows=$flows"
} >"$out/machine.txt"
cat "$out/machine.txt"

# vdevs ring|pcap SIZE LCORES: two ports per lcore
vdevs() {
	local i
	for ((i = 0; i < $3; i++)); do
		if [ "$1" = ring ]; then
			printf -- '--vdev net_ring%d --vdev net_ring%d ' $((2 * i)) $((2 * i + 1))
		else
			printf -- '--vdev net_pcap%d,rx_pcap=%s,infinite_rx=1 --vdev net_null%d,no-rx=1 ' \
				"$i" "$out/flows-$2.pcap" "$i"
		fi
	done
}

# testpmd ring|pcap SIZE LCORES LOG: Mpps per lcore (median of the periods
# after warm-up)
run_testpmd() {
	local ports=$1 size=$2 l=$3 log=$4 lc prefix=ferry-bench-testpmd-$$ first
	[ "$l" = 1 ] && lc="0@0,1@1" || lc="0@0,1@0,2@1"
	[ "$ports" = ring ] && first=(--tx-first --txpkts="$size") || first=()
	# shellcheck disable=SC2046
	timeout -s INT -k 5 $((warm + secs + 3)) "$testpmd" --lcores "$lc" --no-pci \
		--file-prefix "$prefix" "${mem[@]}" --log-level='lib.*:warning' \
		$(vdevs "$ports" "$size" "$l") -- --forward-mode=io --nb-cores="$l" \
		"${first[@]}" --burst=32 --stats-period=1 \
		--total-num-mbufs=$((8192 + 2 * l * flows)) --no-lsc-interrupt >"$log" 2>&1 || true
	rm -rf "/var/run/dpdk/$prefix"
	# Per stats period, one Rx-pps line per port: sum them, per lcore.
	tr -d '\033' <"$log" | awk -v ports=$((2 * l)) -v l="$l" -v skip=$((warm + 1)) '
		/Rx-pps:/ { s += $2; if (++n == ports) { p++; if (p > skip) v[++m] = s / l / 1e6; s = 0; n = 0 } }
		END {
			if (!m) { print "nan"; exit }
			for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
			printf "%.3f\n", (m % 2) ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
		}'
}

# ours ring|pcap MODE ALIGN SIZE LCORES LOG: Mpps per lcore
run_ours() {
	local ports=$1 mode=$2 align=$3 size=$4 l=$5 log=$6 lc
	[ "$l" = 1 ] && lc="0@1" || lc="0@0,1@1"
	# shellcheck disable=SC2046
	"$bench" --lcores "$lc" --no-pci "${mem[@]}" $(vdevs "$ports" "$size" "$l") -- \
		--ports "$ports" --mode "$mode" --align "$align" --size "$size" \
		--seconds "$secs" --warmup "$warm" --flows "$flows" >"$log" 2>&1 || { echo "nan"; return; }
	awk '/^dpdk_bench result/ { for (i = 1; i <= NF; i++) if ($i ~ /^mpps_per_lcore=/) { sub(/.*=/, "", $i); print $i } }' "$log"
}

for size in 64 512; do
	"$bench" --write-pcap "$out/flows-$size.pcap" --size "$size" --flows "$flows"
done

results=$out/results.txt
: >"$results"
for ((r = 1; r <= runs; r++)); do
	for size in 64 512; do
		for l in 1 2; do
			t=$(run_testpmd ring "$size" "$l" "$out/testpmd-$size-$l-$r.txt")
			io=$(run_ours ring io slide "$size" "$l" "$out/io-$size-$l-$r.txt")
			rw=$(run_ours ring rewrite slide "$size" "$l" "$out/rewrite-$size-$l-$r.txt")
			sl=$(run_ours ring ferry slide "$size" "$l" "$out/slide-$size-$l-$r.txt")
			tr=$(run_ours ring ferry trust "$size" "$l" "$out/trust-$size-$l-$r.txt")
			pt=$(run_testpmd pcap "$size" "$l" "$out/ptestpmd-$size-$l-$r.txt")
			pio=$(run_ours pcap io slide "$size" "$l" "$out/pio-$size-$l-$r.txt")
			psl=$(run_ours pcap ferry slide "$size" "$l" "$out/pslide-$size-$l-$r.txt")
			ptr=$(run_ours pcap ferry trust "$size" "$l" "$out/ptrust-$size-$l-$r.txt")
			echo "run=$r size=$size lcores=$l testpmd=$t io=$io rewrite=$rw slide=$sl trust=$tr ptestpmd=$pt pio=$pio pslide=$psl ptrust=$ptr" | tee -a "$results"
		done
	done
done

echo
echo "== DPDK forwarding: Mpps per forwarding lcore, median of $runs runs (min-max); raw: $out"
python3 - "$results" <<'EOF'
import statistics, sys
rows = [dict(kv.split('=') for kv in l.split()) for l in open(sys.argv[1])]
def num(r, c):
    v = r.get(c, 'nan')
    return None if v in ('nan', '') else float(v)
def table(title, cases, ratios):
    print(title)
    print('| frame | lcores | ' + ' | '.join(cases) + ' | ' +
          ' | '.join(f'{a} / {b}' for a, b in ratios) + ' |')
    print('|---|---:|' + '---:|' * (len(cases) + len(ratios)))
    for size in ('64', '512'):
        for l in ('1', '2'):
            sel = [r for r in rows if r['size'] == size and r['lcores'] == l]
            med, cells = {}, []
            for c in cases:
                v = [x for x in (num(r, c) for r in sel) if x is not None]
                med[c] = statistics.median(v) if v else None
                cells.append(f'{med[c]:.2f} ({min(v):.2f}-{max(v):.2f})' if v else 'failed')
            # the ratio of the medians, and the range of the per-run ratios
            rc = []
            for a, b in ratios:
                per = [num(r, a) / num(r, b) for r in sel
                       if num(r, a) is not None and num(r, b)]
                rc.append(f'{med[a] / med[b]:.3f} ({min(per):.3f}-{max(per):.3f})'
                          if per and med[a] is not None and med[b] else '-')
            print(f'| {size} B | {l} | ' + ' | '.join(cells) + ' | ' + ' | '.join(rc) + ' |')
    print()
print('net_ring pairs (the PMD moves pointers, never touches a frame):')
table('', ['testpmd', 'io', 'rewrite', 'slide', 'trust'],
      [('slide', 'testpmd'), ('trust', 'testpmd'), ('slide', 'rewrite')])
print('net_pcap replay -> net_null (the RX PMD writes every frame):')
table('', ['ptestpmd', 'pio', 'pslide', 'ptrust'],
      [('pslide', 'ptestpmd'), ('ptrust', 'ptestpmd')])
EOF
