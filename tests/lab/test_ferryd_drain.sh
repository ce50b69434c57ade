#!/usr/bin/env bash
# tests/lab/test_ferryd_drain.sh: `ferryctl drain b1` with established connections on b1: they keep working (messages flow for seconds after the drain), no new connection reaches b1; `ferryctl undrain b1`: new flows reach b1 again. (LAB_ENGINE=dpdk: the same over ferry-dpdk, test_dpdk_drain.sh)
# shellcheck disable=SC2317 # check helpers are called through check()
set -euo pipefail
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"

HOLD=40        # long-lived connections per client
GAP=0.2        # seconds between the messages of a long-lived connection
OPEN_RATE=30   # new connections per second per client
DRAIN_S=5      # seconds the drain lasts
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

be_field() { lab_ctl_field "backends[node=$VNAME].$1" backends "$2"; } # FIELD VIP
states() { echo "lab-tcp $(be_field state lab-tcp) lab-udp $(be_field state lab-udp)"; }

lab_log "$((HOLD * LAB_NCLIENTS)) long-lived connections, a line every ${GAP}s each"
lab_clients_bg "$RES" hold hold --host $VIP --port $VIP_TCP_PORT --conns $HOLD \
	--gap $GAP --timeout 3 --stop-file "$RES/stop-hold" --ready "$RES/hold-{c}.ready" --deadline 70
wait_for 20 "every long-lived connection up" ls "$RES"/hold-{1..3}.ready ||
	fail "the long-lived connections did not come up: $(tail -n 3 "$LAB_LOGS/client-hold.err" 2>/dev/null)"
sleep 1
lab_log "new connections, $OPEN_RATE/s per client"
lab_clients_bg "$RES" open open --host $VIP --port $VIP_TCP_PORT --rate $OPEN_RATE \
	--concurrency 32 --timeout 2 --stop-file "$RES/stop-open" --deadline 40
sleep 1

STATES_BEFORE=$(states)
PKT_DRAIN=$(be_field packets lab-tcp)
lab_log "ferryctl drain $VNAME"
DRAIN_RC=0
DRAIN_OUT=$(lab_ctl drain "$VNAME" 2>&1) || DRAIN_RC=$?
T_DRAIN=$(lab_now)
STATES_DRAINED=$(states)
lab_sleep_until "$(lab_calc "$T_DRAIN + $DRAIN_S")"
T_UNDRAIN=$(lab_now)
touch "$RES/stop-open"
PKT_UNDRAIN=$(be_field packets lab-tcp)
lab_log "ferryctl undrain $VNAME"
UNDRAIN_RC=0
UNDRAIN_OUT=$(lab_ctl undrain "$VNAME" 2>&1) || UNDRAIN_RC=$?
STATES_AFTER=$(states)
lab_clients "$RES" after tcp --host $VIP --port $VIP_TCP_PORT --conns 40 --concurrency 10 \
	--timeout 3 --deadline 30
touch "$RES/stop-hold"
lab_clients_wait

echo "== $LAB_PREFIX: results (drain at $T_DRAIN, undrain +${DRAIN_S}s)"
check "hold: long-lived connections on every backend" \
	"${CHECK[@]}" spread --all --total $((HOLD * LAB_NCLIENTS)) --backends "$ALL" \
	--min 0.15 --max 0.55 "$RES"/hold-c*.json
drained() {
	echo "ferryctl drain: exit $DRAIN_RC: $DRAIN_OUT; before: $STATES_BEFORE; after: $STATES_DRAINED"
	[ "$DRAIN_RC" -eq 0 ] && [ "$STATES_BEFORE" = "lab-tcp active lab-udp active" ] &&
		[ "$STATES_DRAINED" = "lab-tcp draining lab-udp draining" ]
}
check "ferryctl drain $VNAME exits 0; ferryctl backends: active, then draining on both VIPs" drained
check "$VNAME's established connections keep working ${DRAIN_S}s past the drain (answers at >= +$((DRAIN_S - 1))s)" \
	"${CHECK[@]}" survive --backends "$VNAME" --min 10 \
	--until "$(lab_calc "$T_DRAIN + $DRAIN_S - 1")" "$RES"/hold-c*.json
check "every long-lived connection survives drain and undrain, zero resets" \
	"${CHECK[@]}" survive --backends "$ALL" --min $((HOLD * LAB_NCLIENTS)) "$RES"/hold-c*.json
grew() {
	echo "$VNAME's lab-tcp packet counter: $PKT_DRAIN at the drain, $PKT_UNDRAIN ${DRAIN_S}s later"
	[ "$PKT_UNDRAIN" -gt "$PKT_DRAIN" ]
}
check "dataplane: packets still forwarded to the draining $VNAME" grew
check "no new connection reaches $VNAME while it drains; all answered" \
	"${CHECK[@]}" opened --avoid "$VNAME" --after "$T_DRAIN" --before "$T_UNDRAIN" \
	--since "$T_DRAIN" --min 200 "$RES"/open-c*.json
undrained() {
	echo "ferryctl undrain: exit $UNDRAIN_RC: $UNDRAIN_OUT; after: $STATES_AFTER"
	[ "$UNDRAIN_RC" -eq 0 ] && [ "$STATES_AFTER" = "lab-tcp active lab-udp active" ]
}
check "ferryctl undrain $VNAME exits 0; $VNAME active again on both VIPs" undrained
check "after undrain: every new connection answered" \
	"${CHECK[@]}" complete --min $((40 * LAB_NCLIENTS)) "$RES"/after-c*.json
check "after undrain: new flows reach $VNAME again (spread over every backend)" \
	"${CHECK[@]}" spread --backends "$ALL" --min 0.15 --max 0.55 "$RES"/after-c*.json

lab_summary
