#!/usr/bin/env bash
# tests/lab/test_restart.sh: restart safety in the netns lab: ferryd stops (SIGTERM) and restarts without moving or breaking flows; --detach removes the dataplane.
# shellcheck disable=SC2317 # check helpers are called through check()
set -euo pipefail
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"

UDP_FLOWS=20    # per client, fixed source ports from UDP_SPORT
UDP_SPORT=41000

lab_require
lab_require_ferryd
lab_trap "${FERRY_LAB_TIMEOUT:-150}"
lab_up
lab_start_servers
lab_start_ferryd

RES=$LAB_LOGS/results
mkdir -p "$RES"
CHECK=("$PYTHON" "$LAB_DIR/lbcheck.py")

clients() { lab_clients "$RES" "$@"; } # TAG ARGS...: every client at once
udp_fixed() { # TAG: the same UDP flows (fixed source ports) every time
	clients "$1" udp --host $VIP --port $VIP_UDP_PORT --flows $UDP_FLOWS \
		--sport $UDP_SPORT --count 3 --timeout 1 --retries 2 --deadline 20
}
prog_id() { ip -n "$NS_F" -d link show dev eth0 | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p' | head -n 1; }
# ferry_pins: what ferryd pinned under the lab's bpffs: not the kernel's
# *.debug iterators, nor the ip/ tc/ xdp/ directories iproute2 makes in
# any bpffs it finds when the lab attaches the pass and decap programs.
ferry_pins() {
	find "$LAB_BPFFS" -mindepth 1 | sed "s|^$LAB_BPFFS/||" |
		grep -Ev '^(ip|xdp|tc)(/|$)|\.debug$' | sed "s|^|$LAB_BPFFS/|" || true
}

udp_fixed before
ferryd_stats >"$RES/stats-before.txt" 2>&1 || true
PROG_BEFORE=$(prog_id)

# Connections that live across the stop and the restart (~8 s each).
lab_log "long connections across the stop and the restart"
SPAN_PIDS=()
for i in $(seq 1 $LAB_NCLIENTS); do
	nsx "${NS_C[$((i - 1))]}" timeout 60 "$PYTHON" "$LAB_DIR/lbclient.py" tcp \
		--host $VIP --port $VIP_TCP_PORT --conns 6 --msgs 80 --gap 0.1 \
		--concurrency 6 --timeout 3 --deadline 40 >"$RES/span-c$i.json" \
		2>>"$LAB_LOGS/client-span.err" &
	SPAN_PIDS+=($!)
done
sleep 1

lab_log "stopping ferryd (SIGTERM)"
lab_stop_ferryd
check "ferryd exits 0 on SIGTERM" test "$FERRYD_STATUS" -eq 0
still_attached() {
	local id
	id=$(prog_id)
	echo "eth0: XDP prog id ${id:-none} (${PROG_BEFORE:-none} while ferryd ran)"
	[ -n "$id" ]
}
check "XDP program stays attached while ferryd is down" still_attached
pinned_stay() {
	local n
	n=$(ferry_pins | wc -l)
	echo "$n pinned objects under $LAB_BPFFS: $(ferry_pins | head -n 12 | xargs -n1 basename 2>/dev/null | paste -sd' ')"
	[ "$n" -gt 0 ]
}
check "pinned maps stay in bpffs while ferryd is down" pinned_stay

lab_log "traffic while ferryd is down"
clients downtcp tcp --host $VIP --port $VIP_TCP_PORT --conns 30 --concurrency 10 \
	--timeout 3 --deadline 20
udp_fixed down
check "new TCP connections complete while ferryd is down" \
	"${CHECK[@]}" complete --min $((30 * LAB_NCLIENTS)) "$RES"/downtcp-c*.json
check "UDP flows keep their backend while ferryd is down" \
	"${CHECK[@]}" same --min $((UDP_FLOWS * LAB_NCLIENTS)) \
	--before "$RES"/before-c*.json --after "$RES"/down-c*.json

lab_log "restarting ferryd"
lab_start_ferryd
ferryd_stats >"$RES/stats-after.txt" 2>&1 || true
same_prog() {
	local id
	id=$(prog_id)
	echo "eth0: XDP prog id ${id:-none} after the restart, ${PROG_BEFORE:-none} before"
	[ -n "$id" ] && [ "$id" = "$PROG_BEFORE" ]
}
check "restarted ferryd adopts the attached program (same prog id)" same_prog
udp_fixed after
check "UDP flows keep their backend across the restart" \
	"${CHECK[@]}" same --min $((UDP_FLOWS * LAB_NCLIENTS)) \
	--before "$RES"/before-c*.json --after "$RES"/after-c*.json
check "counters keep counting across the restart" \
	"${CHECK[@]}" grew "$RES/stats-before.txt" "$RES/stats-after.txt"

for p in "${SPAN_PIDS[@]}"; do wait "$p" || true; done
check "connections open across stop and restart complete" \
	"${CHECK[@]}" complete --min $((6 * LAB_NCLIENTS)) "$RES"/span-c*.json
mapfile -t BLOGS < <(backend_logs)
check "... each served by one backend throughout (80 messages)" \
	"${CHECK[@]}" sticky --proto tcp --answers 80 "$RES"/span-c*.json --local $VIP --logs "${BLOGS[@]}"

lab_log "ferryd --detach"
lab_stop_ferryd
detach() {
	ferryd_detach 2>&1 || return 1
	LAB_FERRYD_STARTED=0
}
check "ferryd --detach succeeds" detach
check "--detach removes the XDP program from eth0" \
	sh -c "m=\$(ip -n $NS_F link show dev eth0 | head -n 1); case \"\$m\" in *' xdp'*) echo 'still attached'; exit 1;; esac; echo 'no XDP program'"
pins_gone() {
	local l
	l=$(ferry_pins | head -n 8 | paste -sd' ')
	echo "left under $LAB_BPFFS: ${l:-nothing}"
	[ -z "$l" ]
}
check "--detach removes the pinned objects" pins_gone
vip_dead() {
	local out
	out=$(nsx "${NS_C[0]}" timeout 10 "$PYTHON" "$LAB_DIR/lbclient.py" tcp --host "$VIP" \
		--port "$VIP_TCP_PORT" --conns 3 --timeout 1 --deadline 5) && {
		echo "the VIP still answers: $out"
		return 1
	}
	echo "no answer from the VIP (as expected)"
}
check "the VIP is no longer served after --detach" vip_dead
clients host tcp --host $FERRY_ADDR --port $HOST_TCP_PORT --conns 3 --timeout 3 --deadline 10
check "host traffic to $FERRY_ADDR:$HOST_TCP_PORT works after --detach" \
	"${CHECK[@]}" complete --min $((3 * LAB_NCLIENTS)) "$RES"/host-c*.json

lab_summary
