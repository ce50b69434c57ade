#!/usr/bin/env bash
# tests/dpdk/test_ferry_dpdk.sh: the ferry-dpdk process end to end on pcap vdevs: the fixture world as its tables file, the fixtures' frames in, the data port's and the exception port's frames out, compared byte for byte with the fixtures' expectations, and its counters with the expected reasons; then two data ports and a world without a source MAC: each port's frames carry its own MAC. Exit 77 (skip) when the EAL cannot start.
#
# usage: test_ferry_dpdk.sh FERRY_DPDK FIXTURE_EXPORT
# Port 0 (net_pcap0) reads in.pcap and writes what is sent out (LB_TX);
# port 1 (net_pcap1) is the exception port and writes what is passed.
set -euo pipefail

FERRY_DPDK=$1
EXPORT=$2
dir=$(mktemp -d /tmp/ferry-dpdk-test.XXXXXX)
trap 'rm -rf "$dir"' EXIT

"$EXPORT" "$dir"

set +e
timeout -k 5 60 "$FERRY_DPDK" -l 0-1 --no-pci --no-huge -m 256 \
	--log-level='lib.*:warning' \
	--vdev "net_pcap0,rx_pcap=$dir/in.pcap,tx_pcap=$dir/out_tx.pcap" \
	--vdev "net_pcap1,tx_pcap=$dir/out_pass.pcap" \
	-- --tables "$dir/world.snap" --exception-port 1 --run-for 2 \
	>"$dir/stdout" 2>"$dir/stderr"
rc=$?
set -e
cat "$dir/stderr"
cat "$dir/stdout"
if [ "$rc" -ne 0 ]; then
	if grep -q 'rte_eal_init' "$dir/stderr"; then
		echo "SKIP: ferry-dpdk: the EAL cannot start here ($(grep -m1 rte_eal_init "$dir/stderr"))"
		exit 77
	fi
	echo "FAIL: ferry-dpdk exited $rc"
	exit 1
fi

# Two data ports, tables without a source MAC: each port sends with its own.
timeout -k 5 60 "$FERRY_DPDK" -l 0-1 --no-pci --no-huge -m 256 \
	--log-level='lib.*:warning' \
	--vdev "net_pcap0,rx_pcap=$dir/in.pcap,tx_pcap=$dir/out_p0.pcap" \
	--vdev "net_pcap1,rx_pcap=$dir/in.pcap,tx_pcap=$dir/out_p1.pcap" \
	--vdev "net_pcap2,tx_pcap=$dir/out_pass2.pcap" \
	-- --tables "$dir/world_nomac.snap" --exception-port 2 --run-for 2 \
	>"$dir/stdout2" 2>"$dir/stderr2" || {
	cat "$dir/stderr2"
	echo "FAIL: ferry-dpdk with two data ports"
	exit 1
}
python3 - "$dir" <<'EOF'
import struct, sys

d = sys.argv[1]

def frames(path):
    with open(path, 'rb') as f:
        data = f.read()
    magic = struct.unpack_from('<I', data, 0)[0]
    assert magic in (0xa1b2c3d4, 0xa1b23c4d), f'{path}: not a pcap file'
    off, out = 24, []
    while off < len(data):
        _, _, caplen, length = struct.unpack_from('<IIII', data, off)
        off += 16
        out.append(data[off:off + caplen])
        off += caplen
    return out

bad = 0
for port, want, got in (('data port (LB_TX)', 'want_tx.pcap', 'out_tx.pcap'),
                        ('exception port (LB_PASS)', 'want_pass.pcap', 'out_pass.pcap')):
    w, g = frames(f'{d}/{want}'), frames(f'{d}/{got}')
    if len(w) != len(g):
        print(f'FAIL {port}: {len(g)} frames out, want {len(w)}')
        bad = 1
    for i, (a, b) in enumerate(zip(w, g)):
        if a != b:
            print(f'FAIL {port}: frame {i} differs:\n  want {a.hex()}\n  got  {b.hex()}')
            bad = 1
    if not bad:
        print(f'ok   {port}: {len(g)} frames, byte for byte as expected')

want = dict(l.split() for l in open(f'{d}/want_reasons'))
last = [l for l in open(f'{d}/stdout') if l.startswith('stats generation=')][-1]
got = dict(kv.split('=') for kv in last.split()[1:])
for reason, n in want.items():
    if got.get(reason) != n:
        print(f'FAIL reason {reason}: counted {got.get(reason)}, want {n}')
        bad = 1
if not bad:
    print(f'ok   counters: {sum(int(n) for n in want.values())} frames, every reason as expected')

# Two data ports, no source MAC in the tables: each port's own, the rest
# as expected.
def two_ports():
    want = frames(f'{d}/want_tx.pcap')
    macs = []
    for port in (0, 1):
        got = frames(f'{d}/out_p{port}.pcap')
        if len(got) != len(want) or not got:
            print(f'FAIL port {port}: {len(got)} frames out, want {len(want)}')
            return 1
        mac = got[0][6:12]
        for i, (a, b) in enumerate(zip(want, got)):
            if b[6:12] != mac or a[:6] + a[12:] != b[:6] + b[12:]:
                print(f'FAIL port {port}: frame {i}: want {a.hex()} with source {mac.hex()}, got {b.hex()}')
                return 1
        macs.append(mac)
    if macs[0] == macs[1]:
        print(f'FAIL: both ports sent with {macs[0].hex()}: the ports have one MAC, nothing shown')
        return 1
    print(f'ok   two data ports: {len(want)} frames each, each with its own source MAC ({macs[0].hex()}, {macs[1].hex()}), the rest as expected')
    return 0

bad |= two_ports()
sys.exit(bad)
EOF
