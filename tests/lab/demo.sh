#!/usr/bin/env bash
# tests/lab/demo.sh: the one-command demo: deps, build, netns lab, ferryd with native XDP (LAB_ENGINE=dpdk: with ferry-dpdk), TCP+UDP through the VIP, ferryd --stats, teardown.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root (network namespaces, XDP, bpffs); run: sudo $0" >&2
	exit 1
fi

BUILD=${FERRY_BUILD:-build}
echo "== dependencies"
bash tests/deps.sh
echo "== build ($BUILD)"
if [ ! -f "$BUILD/build.ninja" ]; then
	CC=${CC:-clang} meson setup "$BUILD" >/dev/null
fi
ninja -C "$BUILD"
export FERRY_BUILD=$BUILD

# shellcheck source=tests/lab/lib.sh
. tests/lab/lib.sh
lab_require
lab_require_ferryd
lab_trap "${FERRY_LAB_TIMEOUT:-120}"

echo "== lab $LAB_PREFIX"
lab_up
lab_start_servers
if [ "$LAB_ENGINE" = dpdk ]; then
	FERRY_DESC="ferry-dpdk on eth0 (af_packet), $FERRY_ADDR on its tap, ferryd"
else
	FERRY_DESC="eth0 $FERRY_ADDR, ferryd + native XDP"
fi
cat <<EOF
  clients  ${NS_C[*]}: 10.77.1.11-13, via router $NS_R
  ferry    $NS_F: $FERRY_DESC, VIP $VIP routed here
  backends ${NS_B[*]}: 10.77.3.11-13, VIP on lo, decap XDP on eth0, answer clients directly
EOF
echo "== ferryd -c $LAB_CONF"
lab_start_ferryd
echo "  VIP lab-tcp $VIP:$VIP_TCP_PORT/tcp (hash 5tuple) and lab-udp $VIP:$VIP_UDP_PORT/udp, each over b1 b2 b3"

OUT=$LAB_LOGS/demo
mkdir -p "$OUT"
traffic() { lab_clients "$OUT" "$@"; } # TAG ARGS...: every client at once
BACKENDS=$(for i in $(seq 1 $LAB_NBACKENDS); do backend_name "$i"; done | paste -sd,)

echo "== TCP: 3 clients x 50 connections to $VIP:$VIP_TCP_PORT (each: connect, 3 lines, close)"
traffic tcp tcp --host $VIP --port $VIP_TCP_PORT --conns 50 --msgs 3 --concurrency 10
"$PYTHON" "$LAB_DIR/lbcheck.py" complete --min 150 "$OUT"/tcp-c*.json | sed 's/^/  /' || true
"$PYTHON" "$LAB_DIR/lbcheck.py" spread --backends "$BACKENDS" "$OUT"/tcp-c*.json |
	sed 's/;.*//; s/^/  served by: /' || true

echo "== UDP: 3 clients x 10 source ports x 5 datagrams to $VIP:$VIP_UDP_PORT"
traffic udp udp --host $VIP --port $VIP_UDP_PORT --flows 10 --count 5
"$PYTHON" "$LAB_DIR/lbcheck.py" complete --min 30 "$OUT"/udp-c*.json | sed 's/^/  /' || true
"$PYTHON" "$LAB_DIR/lbcheck.py" distinct --need 1 "$OUT"/udp-c*.json |
	sed 's/ (need.*//; s/^/  /' || true

echo "== what $(backend_name 1) saw: the client's own address and port, arriving on the VIP (kind, backend, client, port, local address)"
grep " $VIP\$" "$LAB_LOGS/$(backend_name 1).log" | head -n 3 | sed 's/^/  /' || true
PROBE=$(grep -m 1 "^tcp-conn [^ ]* $FERRY_ADDR " "$LAB_LOGS/$(backend_name 1).log" || true)
[ -z "$PROBE" ] || printf "   and ferryd's health probes, from Ferry to the node's own address:\n  %s\n" "$PROBE"

echo "== ferryd --stats"
ferryd_stats | sed 's/^/  /'

echo "== done; tearing the lab down"
