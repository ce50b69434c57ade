#!/usr/bin/env bash
# tests/lab/test_ferryd_kill9.sh: `kill -9` ferryd mid-stream and restart it a second later: no UDP datagram of a steady sequence-numbered stream goes unanswered, no TCP connection breaks, and the restarted ferryd adopts the dataplane with the same generation.
# shellcheck disable=SC2317 # check helpers are called through check()
set -euo pipefail
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"

HOLD=20          # TCP connections per client
GAP=0.2          # seconds between their messages
UDP_RATE=200     # datagrams per second, from client 1
UDP_FLOWS=8      # source ports the stream is spread over
UDP_SECS=10
UDP_SPORT=43000

lab_require
lab_require_ferryd
lab_require_ferryctl
lab_trap "${FERRY_LAB_TIMEOUT:-120}"
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
prog_id() { ip -n "$NS_F" -d link show dev eth0 | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p' | head -n 1; }

lab_hold_and_stream "$RES" 70

GEN_BEFORE=$(lab_ctl_field generation status)
PROG_BEFORE=$(prog_id)
lab_log "kill -9 ferryd (pid $FERRYD_PID), generation $GEN_BEFORE"
kill -KILL "$FERRYD_PID"
KILL_STATUS=0
wait "$FERRYD_PID" 2>/dev/null || KILL_STATUS=$?
FERRYD_PID=
sleep 1
lab_log "restarting ferryd"
lab_start_ferryd
STATUS_JSON=$(lab_ctl --json status || true)
field() { printf '%s\n' "$STATUS_JSON" | "$PYTHON" "$LAB_DIR/lbcheck.py" field "$1" 2>/dev/null || echo '?'; }
GEN_AFTER=$(field generation)
ADOPTED=$(field adopted)
PROG_AFTER=$(prog_id)

wait "$USEQ_PID" || true
touch "$RES/stop"
lab_clients_wait

echo "== $LAB_PREFIX: results"
check "ferryd died of SIGKILL" sh -c "echo 'wait status $KILL_STATUS'; [ $KILL_STATUS -eq 137 ]"
adopted_log() {
	local l
	l=$(tail -n "+$((LAB_FERRYD_MARK + 1))" "$LAB_FERRYD_LOG" | grep -w ready | head -n 1)
	echo "${l:-no ready line}"
	printf '%s' "$l" | grep -qw adopted
}
check "the restarted ferryd says \"adopted\" in its log" adopted_log
same_gen() {
	echo "ferryctl status: generation $GEN_BEFORE before the kill, $GEN_AFTER after the restart; adopted: $ADOPTED; XDP prog id $PROG_BEFORE -> $PROG_AFTER"
	[ "$GEN_AFTER" = "$GEN_BEFORE" ] && [ "$ADOPTED" = true ] && [ -n "$PROG_AFTER" ] &&
		[ "$PROG_AFTER" = "$PROG_BEFORE" ]
}
check "ferryctl status: same generation after the restart, adopted, same XDP program" same_gen
check "UDP: every datagram of the stream answered (zero lost), each flow on one backend" \
	"${CHECK[@]}" useq --min $((UDP_RATE * UDP_SECS)) "$RES/useq.json"
check "TCP: every connection survives the kill and the restart (zero broken)" \
	"${CHECK[@]}" survive --backends "$ALL" --min $((HOLD * LAB_NCLIENTS)) "$RES"/hold-c*.json

lab_summary
