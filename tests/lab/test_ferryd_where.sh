#!/usr/bin/env bash
# tests/lab/test_ferryd_where.sh: `ferryctl where` agrees with where packets went: 100+ TCP flows and some UDP flows from random explicit source ports, asked before (ring) and after (XDP: conntrack; DPDK: ring, as ferry-dpdk's conntrack is per lcore in its own memory) the flows ran; a destination that is no VIP gives verdict pass.
# shellcheck disable=SC2317 # check helpers are called through check()
set -euo pipefail
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"

TCP_PER_CLIENT=34   # random source ports per client (102 TCP flows)
UDP_PER_CLIENT=6    # consecutive source ports from a random base per client

lab_require
lab_require_ferryd
lab_require_ferryctl
lab_trap "${FERRY_LAB_TIMEOUT:-120}"
lab_up
lab_start_servers
lab_start_ferryd

RES=$LAB_LOGS/results
mkdir -p "$RES"
CHECK=("$PYTHON" "$LAB_DIR/lbcheck.py")
# After the flows ran, where answers from their conntrack entries (XDP) or,
# with DPDK, from the tables again (ferryd cannot see ferry-dpdk's conntrack).
AFTER_BY=conntrack
[ "$LAB_ENGINE" = xdp ] || AFTER_BY=ring
# node name = the name its server answers with (lib.sh: backend_name)
NODES=()
for i in $(seq 1 $LAB_NBACKENDS); do NODES+=(--node "$(backend_name "$i")=$(backend_addr "$i")"); done

# where_line SRC SPORT DST DPORT PROTO: "SRC:SPORT backend by verdict"
where_line() {
	local j
	j=$(lab_ctl --json where "$@") || { echo "$1:$2 error"; return 0; }
	printf '%s:%s %s %s %s\n' "$1" "$2" \
		"$(printf '%s' "$j" | sed -n 's/.*"backend":"\([^"]*\)".*/\1/p')" \
		"$(printf '%s' "$j" | sed -n 's/.*"by":"\([^"]*\)".*/\1/p')" \
		"$(printf '%s' "$j" | sed -n 's/.*"verdict":"\([^"]*\)".*/\1/p')"
}

# Random source ports below the ephemeral range (TCP) and above it (UDP),
# none used twice.
mapfile -t TPORTS < <(shuf -i 1024-32000 -n $((TCP_PER_CLIENT * LAB_NCLIENTS)))
: >"$RES/predicted-tcp.txt"
: >"$RES/predicted-udp.txt"
PIDS=()
for i in $(seq 1 $LAB_NCLIENTS); do
	ports=("${TPORTS[@]:$(((i - 1) * TCP_PER_CLIENT)):$TCP_PER_CLIENT}")
	ubase=$((61000 + (i - 1) * 1000 + RANDOM % (1000 - UDP_PER_CLIENT)))
	for p in "${ports[@]}"; do
		where_line "$(client_addr "$i")" "$p" $VIP $VIP_TCP_PORT tcp >>"$RES/predicted-tcp.txt"
	done
	for p in $(seq $ubase $((ubase + UDP_PER_CLIENT - 1))); do
		where_line "$(client_addr "$i")" "$p" $VIP $VIP_UDP_PORT udp >>"$RES/predicted-udp.txt"
	done
	nsx "${NS_C[$((i - 1))]}" timeout 60 "$PYTHON" "$LAB_DIR/lbclient.py" tcp --host $VIP \
		--port $VIP_TCP_PORT --bind "$(client_addr "$i")" --sports "$(IFS=,; echo "${ports[*]}")" \
		--msgs 2 --concurrency 16 --timeout 3 --deadline 40 \
		>"$RES/tcp-c$i.json" 2>>"$LAB_LOGS/client-tcp.err" &
	PIDS+=($!)
	nsx "${NS_C[$((i - 1))]}" timeout 60 "$PYTHON" "$LAB_DIR/lbclient.py" udp --host $VIP \
		--port $VIP_UDP_PORT --bind "$(client_addr "$i")" --sport "$ubase" \
		--flows $UDP_PER_CLIENT --count 3 --timeout 1 --retries 2 --deadline 30 \
		>"$RES/udp-c$i.json" 2>>"$LAB_LOGS/client-udp.err" &
	PIDS+=($!)
done
lab_log "$((TCP_PER_CLIENT * LAB_NCLIENTS)) TCP and $((UDP_PER_CLIENT * LAB_NCLIENTS)) UDP flows from random source ports"
for p in "${PIDS[@]}"; do wait "$p" || true; done

echo "== $LAB_PREFIX: results"
check "tcp: every flow from an explicit random source port answered" \
	"${CHECK[@]}" complete --min $((TCP_PER_CLIENT * LAB_NCLIENTS)) "$RES"/tcp-c*.json
check "udp: every flow answered" \
	"${CHECK[@]}" complete --min $((UDP_PER_CLIENT * LAB_NCLIENTS)) "$RES"/udp-c*.json
check "tcp: the flows reached every backend" \
	"${CHECK[@]}" distinct --need $LAB_NBACKENDS "$RES"/tcp-c*.json
check "tcp: ferryctl where names the backend that answered, for every flow (before: ring, after: $AFTER_BY)" \
	"${CHECK[@]}" where --by $AFTER_BY --ferryctl "$FERRYCTL" --socket "$LAB_SOCK" --vip $VIP --vip-name lab-tcp \
	--port $VIP_TCP_PORT --proto tcp "${NODES[@]}" --predicted "$RES/predicted-tcp.txt" \
	--min 100 "$RES"/tcp-c*.json
check "udp: ferryctl where names the backend that answered, for every flow (before: ring, after: $AFTER_BY)" \
	"${CHECK[@]}" where --by $AFTER_BY --ferryctl "$FERRYCTL" --socket "$LAB_SOCK" --vip $VIP --vip-name lab-udp \
	--port $VIP_UDP_PORT --proto udp "${NODES[@]}" --predicted "$RES/predicted-udp.txt" \
	--min $((UDP_PER_CLIENT * LAB_NCLIENTS)) "$RES"/udp-c*.json
predicted_by_ring() {
	local n ring
	n=$(cat "$RES"/predicted-*.txt | wc -l)
	ring=$(awk '$3 == "ring" && $4 == "tx"' "$RES"/predicted-*.txt | wc -l)
	echo "$ring of $n answers asked before the flows existed say by ring, verdict tx"
	[ "$n" -gt 0 ] && [ "$ring" -eq "$n" ]
}
check "before the flows: where decides by the ring" predicted_by_ring
# verdict_pass SRC SPORT DST DPORT PROTO
verdict_pass() {
	local j
	j=$(lab_ctl --json where "$@") || { echo "ferryctl where $* failed"; return 1; }
	echo "where $*: $j"
	printf '%s' "$j" | grep -q '"verdict":"pass"' && printf '%s' "$j" | grep -q '"backend":null'
}
check "a non-VIP destination (Ferry's own address, tcp) gives verdict pass" \
	verdict_pass "$(client_addr 1)" 40000 $FERRY_ADDR $HOST_TCP_PORT tcp
check "a non-VIP destination (another host, udp) gives verdict pass" \
	verdict_pass "$(client_addr 2)" 40001 10.77.3.11 $VIP_UDP_PORT udp
check "the VIP's address on a port that is no VIP gives verdict pass" \
	verdict_pass "$(client_addr 3)" 40002 $VIP 1234 tcp

lab_summary
