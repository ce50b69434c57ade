#!/usr/bin/env bash
# tests/lab/test_dpdk_kill_ferryd.sh: engine = "dpdk": `kill -9` ferryd mid-stream and restart it: ferry-dpdk forwards on (no reload, same generation, adopted), every datagram of a steady sequence-numbered UDP stream reaches a backend and is answered, every held TCP connection lives, ferry-dpdk's counters (ferryctl stats after the restart) count the stream exactly; then ferry-dpdk itself is killed and started again: it serves the generation again from its tables file and traffic flows. Exit 77 when ferry-dpdk is not built or cannot start here.
# shellcheck disable=SC2317 # check helpers are called through check()
set -euo pipefail
export LAB_ENGINE=dpdk
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"

HOLD=20          # TCP connections per client, held open across the kill
GAP=0.2          # seconds between their messages
UDP_RATE=200     # datagrams per second, from client 1
UDP_FLOWS=8      # source ports the stream is spread over
UDP_SECS=14
UDP_SPORT=43000
UDP_SPORT2=44000 # the stream after ferry-dpdk's restart
UDP_SECS2=4

lab_require
lab_require_ferryd
lab_require_ferryctl
lab_trap "${FERRY_LAB_TIMEOUT:-170}"
lab_up
lab_start_servers
lab_start_ferryd

# Two reloads first: the generation to keep across the restart is not 1.
lab_ctl reload >/dev/null || fail "ferryctl reload failed"
lab_ctl reload >/dev/null || fail "ferryctl reload failed"

RES=$LAB_LOGS/results
mkdir -p "$RES"
CHECK=("$PYTHON" "$LAB_DIR/lbcheck.py")
ALL=$(for i in $(seq 1 $LAB_NBACKENDS); do backend_name "$i"; done | paste -sd,)
C1=$(client_addr 1)

dinfo() { # FIELD [JSON]: a field of ferry-dpdk's INFO (now, or of JSON)
	local j=${2:-}
	[ -n "$j" ] || j=$(lab_dpdk_info 2>/dev/null) || { echo '?'; return 0; }
	printf '%s\n' "$j" | "$PYTHON" "$LAB_DIR/lbcheck.py" field "$1" 2>/dev/null || echo '?'
}
dpdk_loads() { # lines of ferry-dpdk's log that put a generation live
	grep -c ' live (' "$LAB_DPDK_LOG" || true
}
# udp_arrived SPORT N: datagrams the backends logged from client 1's ports
# SPORT .. SPORT+N-1 on the VIP (useq never resends: one line each).
udp_arrived() {
	local logs
	mapfile -t logs < <(backend_logs)
	awk -v c="$C1" -v lo="$1" -v hi="$(($1 + $2 - 1))" -v vip="$VIP" \
		'$1 == "udp" && $3 == c && $4 >= lo && $4 <= hi && $5 == vip { n++ }
		END { print n + 0 }' "${logs[@]}"
}
# useq_sent FILE: datagrams lbclient.py useq says it sent
useq_sent() { "$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["sent"])' "$1" 2>/dev/null || echo 0; }

UDP_PKTS_START=$(lab_ctl_field 'vips[name=lab-udp].packets' stats || echo '?')

lab_hold_and_stream "$RES" 80

GEN_BEFORE=$(lab_ctl_field generation status)
INFO_BEFORE=$(lab_dpdk_info || echo '{}')
LOADS_BEFORE=$(dpdk_loads)
lab_log "kill -9 ferryd (pid $FERRYD_PID), generation $GEN_BEFORE; ferry-dpdk pid $LAB_DPDK_PID"
kill -KILL "$FERRYD_PID"
T_KILL=$(lab_now)
KILL_STATUS=0
wait "$FERRYD_PID" 2>/dev/null || KILL_STATUS=$?
FERRYD_PID=
sleep 1.5
INFO_DOWN=$(lab_dpdk_info || echo '{}') # ferryd dead: ferry-dpdk on its own
lab_log "restarting ferryd"
lab_start_ferryd
T_BACK=$(lab_now)
STATUS_JSON=$(lab_ctl --json status || true)
field() { printf '%s\n' "$STATUS_JSON" | "$PYTHON" "$LAB_DIR/lbcheck.py" field "$1" 2>/dev/null || echo '?'; }
GEN_AFTER=$(field generation)
ADOPTED=$(field adopted)

wait "$USEQ_PID" || true
touch "$RES/stop"
lab_clients_wait
sleep 0.5
INFO_AFTER=$(lab_dpdk_info || echo '{}')
LOADS_AFTER=$(dpdk_loads)
lab_ctl --json stats >"$RES/stats.json" 2>&1 || true
SENT=$(useq_sent "$RES/useq.json")
ARRIVED=$(udp_arrived $UDP_SPORT $UDP_FLOWS)

# ---- ferry-dpdk itself restarts --------------------------------------------
GEN_LIVE=$(dinfo generation)
lab_log "kill -9 ferry-dpdk (pid $LAB_DPDK_PID), generation $GEN_LIVE"
lab_stop_dpdk KILL
DPDK_KILL_STATUS=$LAB_DPDK_STATUS
TABLES_KEPT=no
[ -s "$LAB_DPDK_TABLES" ] && TABLES_KEPT=yes
lab_start_dpdk
INFO_RESTART=$(lab_dpdk_info || echo '{}') # at once: from its tables file
lab_log "ferry-dpdk back (pid $LAB_DPDK_PID), generation $(dinfo generation "$INFO_RESTART")"
# ferryd's probes failed while the tap was gone: wait until every backend
# is up again and ferry-dpdk serves what ferryd has.
all_up() {
	local b
	for b in $(echo "$ALL" | tr , ' '); do
		[ "$(lab_ctl_field "backends[node=$b].state" backends lab-tcp)" = active ] || return 1
		[ "$(lab_ctl_field "backends[node=$b].state" backends lab-udp)" = active ] || return 1
	done
}
dpdk_in_step() { [ "$(dinfo generation)" = "$(lab_ctl_field generation status)" ]; }
UP_AGAIN=yes
wait_for 20 "every backend active again" all_up || UP_AGAIN=no
wait_for 10 "ferry-dpdk serves ferryd's generation" dpdk_in_step || true
lab_log "traffic after ferry-dpdk's restart"
lab_clients "$RES" after tcp --host $VIP --port $VIP_TCP_PORT --conns 30 --concurrency 10 \
	--timeout 3 --deadline 30
nsx "${NS_C[0]}" timeout 30 "$PYTHON" "$LAB_DIR/lbclient.py" useq --host $VIP \
	--port $VIP_UDP_PORT --flows $UDP_FLOWS --sport $UDP_SPORT2 --rate $UDP_RATE \
	--duration $UDP_SECS2 --linger 2 >"$RES/useq2.json" 2>>"$LAB_LOGS/client-useq.err" || true
INFO_END=$(lab_dpdk_info || echo '{}')
GEN_END=$(lab_ctl_field generation status || echo '?')

echo "== $LAB_PREFIX: results (ferryd killed at $T_KILL, back at $T_BACK)"
check "ferryd died of SIGKILL" sh -c "echo 'wait status $KILL_STATUS'; [ $KILL_STATUS -eq 137 ]"
alone() {
	echo "ferryd dead: ferry-dpdk pid $(dinfo pid "$INFO_DOWN") serves generation $(dinfo generation "$INFO_DOWN") (ferryd had $GEN_BEFORE)"
	[ "$(dinfo generation "$INFO_DOWN")" = "$GEN_BEFORE" ] &&
		[ "$(dinfo boot_id "$INFO_DOWN")" = "$(dinfo boot_id "$INFO_BEFORE")" ]
}
check "while ferryd is dead, ferry-dpdk serves its generation on" alone
adopted_log() {
	local l
	l=$(tail -n "+$((LAB_FERRYD_MARK + 1))" "$LAB_FERRYD_LOG" | grep -w ready | head -n 1)
	echo "${l:-no ready line}"
	printf '%s' "$l" | grep -qw adopted
}
check "the restarted ferryd says \"adopted\" in its log" adopted_log
same_gen() {
	echo "ferryctl status: generation $GEN_BEFORE before the kill, $GEN_AFTER after the restart, adopted: $ADOPTED; ferry-dpdk: boot_id $(dinfo boot_id "$INFO_BEFORE") -> $(dinfo boot_id "$INFO_AFTER"), generation $(dinfo generation "$INFO_BEFORE") -> $(dinfo generation "$INFO_AFTER"); tables put live $LOADS_BEFORE -> $LOADS_AFTER times"
	[ "$GEN_AFTER" = "$GEN_BEFORE" ] && [ "$ADOPTED" = true ] &&
		[ "$(dinfo boot_id "$INFO_AFTER")" = "$(dinfo boot_id "$INFO_BEFORE")" ] &&
		[ "$(dinfo boot_id "$INFO_AFTER")" != '?' ] &&
		[ "$(dinfo generation "$INFO_AFTER")" = "$GEN_BEFORE" ] &&
		[ "$LOADS_AFTER" = "$LOADS_BEFORE" ]
}
check "adopted: same generation, same ferry-dpdk process, no reload of its tables" same_gen
check "UDP: every datagram of the stream answered (zero lost), each flow on one backend" \
	"${CHECK[@]}" useq --min $((UDP_RATE * UDP_SECS)) "$RES/useq.json"
arrived() {
	echo "$SENT datagrams sent, $ARRIVED logged by the backends (client $C1, ports $UDP_SPORT..$((UDP_SPORT + UDP_FLOWS - 1)))"
	[ "$SENT" -ge $((UDP_RATE * UDP_SECS)) ] && [ "$ARRIVED" = "$SENT" ]
}
check "UDP: every datagram sent arrived at a backend exactly once" arrived
check "TCP: every connection survives the kill and the restart (zero broken)" \
	"${CHECK[@]}" survive --backends "$ALL" --min $((HOLD * LAB_NCLIENTS)) "$RES"/hold-c*.json
counted() {
	local vp bp
	vp=$("${CHECK[@]}" field 'vips[name=lab-udp].packets' <"$RES/stats.json" 2>/dev/null || echo '?')
	bp=$("$PYTHON" -c 'import json,sys
d = json.load(open(sys.argv[1]))
print(sum(b["packets"] for b in d["backends"] if b["vip"] == "lab-udp"))' "$RES/stats.json" 2>/dev/null || echo '?')
	echo "ferryctl stats after the restart: lab-udp $vp packets (${UDP_PKTS_START} at the start), its backends $bp; the stream sent $SENT"
	[ "$UDP_PKTS_START" != '?' ] && [ "$vp" != '?' ] &&
		[ "$((vp - UDP_PKTS_START))" = "$SENT" ] && [ "$bp" = "$vp" ]
}
check "counters: ferry-dpdk counted every datagram of the stream, across ferryd's death" counted

check "ferry-dpdk killed (SIGKILL), its tables file kept" \
	sh -c "echo 'wait status $DPDK_KILL_STATUS; tables file kept: $TABLES_KEPT'; [ $DPDK_KILL_STATUS -eq 137 ] && [ $TABLES_KEPT = yes ]"
restarted() {
	echo "new ferry-dpdk (pid $(dinfo pid "$INFO_RESTART"), boot_id $(dinfo boot_id "$INFO_RESTART")) serves generation $(dinfo generation "$INFO_RESTART") at once (the killed one served $GEN_LIVE); at the end $(dinfo generation "$INFO_END"), ferryd's $GEN_END; backends active again: $UP_AGAIN"
	[ "$(dinfo generation "$INFO_RESTART")" = "$GEN_LIVE" ] &&
		[ "$(dinfo boot_id "$INFO_RESTART")" != "$(dinfo boot_id "$INFO_AFTER")" ] &&
		[ "$(dinfo generation "$INFO_END")" = "$GEN_END" ] && [ "$UP_AGAIN" = yes ]
}
check "restarted ferry-dpdk serves the generation again (its tables file), in step with ferryd" restarted
check "after ferry-dpdk's restart: every new TCP connection answered, spread over every backend" \
	"${CHECK[@]}" spread --backends "$ALL" --min 0.15 --max 0.55 --total $((30 * LAB_NCLIENTS)) "$RES"/after-c*.json
check "after ferry-dpdk's restart: a UDP stream with zero lost" \
	"${CHECK[@]}" useq --min $((UDP_RATE * UDP_SECS2)) "$RES/useq2.json"
check "ferryd still running" sh -c "kill -0 ${FERRYD_PID:-0} 2>/dev/null && echo 'pid $FERRYD_PID'"

lab_summary
