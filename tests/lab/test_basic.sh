#!/usr/bin/env bash
# tests/lab/test_basic.sh: acceptance test of the foundation: TCP/UDP through the VIP over real XDP in the netns lab, host traffic, ferryd --stats (LAB_ENGINE=dpdk: over ferry-dpdk, test_dpdk_basic.sh).
# shellcheck disable=SC2317 # check helpers are called through check()
set -euo pipefail
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"

TCP_CONNS=110   # per client: 330 short connections in all
LONG_CONNS=10   # per client
LONG_MSGS=8     # lines per long connection
UDP_FLOWS=15    # per client (source ports)
UDP_COUNT=20    # datagrams per flow

lab_require
lab_require_ferryd
lab_trap "${FERRY_LAB_TIMEOUT:-150}"
lab_up
lab_start_servers
lab_start_ferryd

RES=$LAB_LOGS/results
mkdir -p "$RES"
CHECK=("$PYTHON" "$LAB_DIR/lbcheck.py")
mapfile -t BLOGS < <(backend_logs)
CLIENTS=$(for i in $(seq 1 $LAB_NCLIENTS); do client_addr "$i"; done | paste -sd,)
BACKENDS=$(for i in $(seq 1 $LAB_NBACKENDS); do backend_name "$i"; done | paste -sd,)

clients() { lab_clients "$RES" "$@"; } # TAG ARGS...: every client at once

lab_log "short TCP connections: $((TCP_CONNS * LAB_NCLIENTS)) from $LAB_NCLIENTS clients"
clients tcp tcp --host $VIP --port $VIP_TCP_PORT --conns $TCP_CONNS \
	--concurrency 16 --timeout 3 --deadline 50
lab_log "long TCP connections: $((LONG_CONNS * LAB_NCLIENTS)) x $LONG_MSGS lines"
clients long tcp --host $VIP --port $VIP_TCP_PORT --conns $LONG_CONNS \
	--msgs $LONG_MSGS --gap 0.05 --concurrency $LONG_CONNS --timeout 3 --deadline 30
lab_log "UDP flows: $((UDP_FLOWS * LAB_NCLIENTS)) source ports x $UDP_COUNT datagrams"
clients udp udp --host $VIP --port $VIP_UDP_PORT --flows $UDP_FLOWS \
	--count $UDP_COUNT --timeout 1 --retries 2 --deadline 30
lab_log "full-size packets: 1500-byte client IP packets, 1520 once encapsulated"
clients big tcp --host $VIP --port $VIP_TCP_PORT --conns 4 --msgs 3 --size 6000 \
	--timeout 3 --deadline 20
clients bigudp udp --host $VIP --port $VIP_UDP_PORT --flows 4 --count 3 --size 1472 \
	--timeout 1 --retries 2 --deadline 20
lab_log "traffic to Ferry's own address $FERRY_ADDR"
clients host tcp --host $FERRY_ADDR --port $HOST_TCP_PORT --conns 5 \
	--timeout 3 --deadline 15

ping_ferry() {
	local ns
	for ns in "${NS_C[@]}"; do
		nsx "$ns" ping -c 3 -i 0.2 -W 1 -q "$FERRY_ADDR" >/dev/null ||
			{ echo "no echo reply from $FERRY_ADDR in $ns"; return 1; }
	done
	echo "every client got 3/3 echo replies"
}

stats_show_backends() {
	local out=$RES/stats.txt
	ferryd_stats >"$out" 2>&1 || { echo "ferryd --stats failed: $(head -c 300 "$out")"; return 1; }
	"${CHECK[@]}" stats --backends "$BACKENDS" "$out"
}

# health probes come from Ferry's address to each node's own address
probes_seen() {
	local i n out="" rc=0
	for i in $(seq 1 "$LAB_NBACKENDS"); do
		n=$(grep -c "^tcp-conn [^ ]* $FERRY_ADDR [0-9]* $(backend_addr "$i")\$" \
			"$LAB_LOGS/$(backend_name "$i").log" || true)
		out+="$(backend_name "$i"): $n probes; "
		[ "$n" -gt 0 ] || rc=1
	done
	echo "$out"
	return "$rc"
}

none_down() {
	local l
	l=$(grep -iw down "$LAB_FERRYD_LOG" | head -n 3 || true)
	[ -z "$l" ] && echo "no backend reported down" && return 0
	echo "$l"
	return 1
}

ferryd_running() {
	ferryd_alive && echo "pid $FERRYD_PID" && return 0
	echo "ferryd exited: $(tail -n 3 "$LAB_FERRYD_LOG" | tr '\n' ' ')"
	return 1
}

echo "== $LAB_PREFIX: results ($LAB_ENGINE)"
if [ "$LAB_ENGINE" = xdp ]; then
	check "ferry: XDP program attached to eth0 in native mode" lab_dataplane_check
else
	check "ferry: ferry-dpdk owns eth0 and serves the tables; Ferry's address on its tap" lab_dataplane_check
fi
check "tcp: >= 300 VIP connections complete" \
	"${CHECK[@]}" complete --min 300 "$RES"/tcp-c*.json
check "tcp: each backend serves 20%..47% of them" \
	"${CHECK[@]}" spread --backends "$BACKENDS" --min 0.20 --max 0.47 "$RES"/tcp-c*.json
check "tcp: backends saw the true client address" \
	"${CHECK[@]}" client-addr --clients "$CLIENTS" "$RES"/tcp-c*.json "$RES"/long-c*.json \
	--local $VIP --logs "${BLOGS[@]}"
check "tcp: every connection logged by exactly the backend that answered" \
	"${CHECK[@]}" sticky --proto tcp --answers 1 "$RES"/tcp-c*.json --local $VIP --logs "${BLOGS[@]}"
check "tcp: long connections complete" \
	"${CHECK[@]}" complete --min $((LONG_CONNS * LAB_NCLIENTS)) "$RES"/long-c*.json
check "tcp: all $LONG_MSGS messages of a connection reach one backend" \
	"${CHECK[@]}" sticky --proto tcp --answers $LONG_MSGS "$RES"/long-c*.json --local $VIP --logs "${BLOGS[@]}"
check "udp: every flow answered" \
	"${CHECK[@]}" complete --min $((UDP_FLOWS * LAB_NCLIENTS)) "$RES"/udp-c*.json
check "udp: one source port sticks to one backend ($UDP_COUNT datagrams)" \
	"${CHECK[@]}" sticky --proto udp --answers $UDP_COUNT "$RES"/udp-c*.json --local $VIP --logs "${BLOGS[@]}"
check "udp: different source ports spread over all backends" \
	"${CHECK[@]}" distinct --need $LAB_NBACKENDS "$RES"/udp-c*.json
check "udp: backends saw the true client address" \
	"${CHECK[@]}" client-addr --clients "$CLIENTS" "$RES"/udp-c*.json --local $VIP --logs "${BLOGS[@]}"
check "mtu: full-size TCP segments (6000-byte lines) through the encapsulation" \
	"${CHECK[@]}" complete --min $((4 * LAB_NCLIENTS)) "$RES"/big-c*.json
check "mtu: 1472-byte UDP datagrams (1500-byte IP) through the encapsulation" \
	"${CHECK[@]}" complete --min $((4 * LAB_NCLIENTS)) "$RES"/bigudp-c*.json
check "host: TCP to $FERRY_ADDR:$HOST_TCP_PORT still works" \
	"${CHECK[@]}" complete --min $((5 * LAB_NCLIENTS)) "$RES"/host-c*.json
check "host: ping $FERRY_ADDR still works" ping_ferry
check "stats: ferryd --stats shows packets on every backend" stats_show_backends
check "health: ferryd's probes reach every backend's own address" probes_seen
check "health: no backend reported down" none_down
check "ferryd still running" ferryd_running

lab_summary
