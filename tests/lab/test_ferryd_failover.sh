#!/usr/bin/env bash
# tests/lab/test_ferryd_failover.sh: a backend dies under load (its server is SIGKILLed while >= 200 long-lived connections run): within fall x interval + 1 s no new connection reaches it, and every connection on the other backends lives on with zero resets. (LAB_ENGINE=dpdk: the same over ferry-dpdk, test_dpdk_failover.sh)
# shellcheck disable=SC2317 # check helpers are called through check()
set -euo pipefail
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"

INTERVAL_MS=500
FALL=2
LAB_HEALTH="interval = $INTERVAL_MS; timeout = 200; rise = 2; fall = $FALL;"
DEADLINE_S=$(lab_calc "$FALL * $INTERVAL_MS / 1000 + 1") # after the kill
HOLD=70        # long-lived connections per client (210 in all)
GAP=0.2        # seconds between the messages of a long-lived connection
OPEN_RATE=30   # new connections per second per client
AFTER_S=5      # seconds the run goes on after the kill
VICTIM=1
VNAME=$(backend_name $VICTIM)

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
ALL=$(for i in $(seq 1 $LAB_NBACKENDS); do backend_name "$i"; done | paste -sd,)
OTHERS=$(for i in $(seq 1 $LAB_NBACKENDS); do [ "$i" -eq $VICTIM ] || backend_name "$i"; done | paste -sd,)
STOP=$RES/stop

be_field() { lab_ctl_field "backends[node=$VNAME].$1" backends "$2"; } # FIELD VIP

lab_log "$((HOLD * LAB_NCLIENTS)) long-lived connections, a line every ${GAP}s each"
lab_clients_bg "$RES" hold hold --host $VIP --port $VIP_TCP_PORT --conns $HOLD \
	--gap $GAP --timeout 3 --stop-file "$STOP" --ready "$RES/hold-{c}.ready" --deadline 70
wait_for 20 "every long-lived connection up" ls "$RES"/hold-{1..3}.ready ||
	fail "the long-lived connections did not come up: $(tail -n 3 "$LAB_LOGS/client-hold.err" 2>/dev/null)"
lab_log "connections up: $(cat "$RES"/hold-*.ready | paste -sd' ')"
sleep 1

lab_log "new connections, $OPEN_RATE/s per client, from now to the end"
lab_clients_bg "$RES" open open --host $VIP --port $VIP_TCP_PORT --rate $OPEN_RATE \
	--concurrency 32 --timeout 2 --stop-file "$STOP" --deadline 40
sleep 1

lab_log "killing $VNAME's server (SIGKILL)"
kill -KILL "${LAB_BACKEND_PID[$VICTIM]}"
T_KILL=$(lab_now)
wait "${LAB_BACKEND_PID[$VICTIM]}" 2>/dev/null || true
T_DEADLINE=$(lab_calc "$T_KILL + $DEADLINE_S")

# When ferryctl first reports the victim down: polled every 20 ms; T_UP is
# when the last poll that still said otherwise was sent.
read -r T_UP T_DOWN POLLS < <("${CHECK[@]}" wait-field --ferryctl "$FERRYCTL" --socket "$LAB_SOCK" \
	--path "backends[node=$VNAME].state" --want down --timeout 10 backends lab-tcp || true)
[ "$T_DOWN" != 0 ] || T_DOWN=
lab_log "$VNAME reported down after $([ -n "$T_DOWN" ] && lab_calc "$T_DOWN - $T_KILL" || echo never) s ($POLLS polls)"
lab_sleep_until "$(lab_calc "$T_DEADLINE + 0.2")"
PKT_AT_DEADLINE=$(be_field packets lab-tcp || echo error)
UDP_STATE=$(be_field state lab-udp || echo error)
lab_sleep_until "$(lab_calc "$T_KILL + $AFTER_S")"
PKT_AT_END=$(be_field packets lab-tcp || echo error)

touch "$STOP"
lab_clients_wait
lab_log "clients done"

echo "== $LAB_PREFIX: results (kill at $T_KILL, deadline +${DEADLINE_S}s)"
check "hold: >= 200 long-lived connections answered, spread over every backend" \
	"${CHECK[@]}" spread --all --total 200 --backends "$ALL" --min 0.15 --max 0.55 "$RES"/hold-c*.json
reported_down() {
	[ -n "$T_DOWN" ] || { echo "ferryctl never reported $VNAME down on lab-tcp (10 s)"; return 1; }
	local dt
	dt=$(lab_calc "$T_DOWN - $T_KILL")
	echo "ferryctl backends lab-tcp: $VNAME down ${dt}s after the kill (the poll before, sent at +$(lab_calc "$T_UP - $T_KILL")s, said otherwise; limit ${DEADLINE_S}s = fall x interval + 1 s); lab-udp: $UDP_STATE at the deadline"
	awk "BEGIN { exit !($dt <= $DEADLINE_S) }" && [ "$UDP_STATE" = down ]
}
check "ferryctl reports $VNAME down within fall x interval + 1 s on both VIPs" reported_down
check "no new connection reaches $VNAME from kill + ${DEADLINE_S}s on; all of them answered" \
	"${CHECK[@]}" opened --avoid "$VNAME" --after "$T_DEADLINE" --since "$T_KILL" --min 100 "$RES"/open-c*.json
frozen() {
	echo "$VNAME's lab-tcp packet counter: $PKT_AT_DEADLINE at the deadline, $PKT_AT_END at the end"
	[ "$PKT_AT_DEADLINE" != error ] && [ "$PKT_AT_DEADLINE" = "$PKT_AT_END" ]
}
check "dataplane: no packet forwarded to $VNAME after the deadline" frozen
check "every connection on $OTHERS survives to the end, zero resets" \
	"${CHECK[@]}" survive --backends "$OTHERS" --min 100 "$RES"/hold-c*.json
cut_off() {
	"${CHECK[@]}" survive --backends "$VNAME" --min 1 "$RES"/hold-c*.json && {
		echo "(none of $VNAME's connections broke: was it killed?)"
		return 1
	}
	return 0
}
check "$VNAME's own connections were cut by its death (expected; proves the kill)" cut_off

lab_summary
