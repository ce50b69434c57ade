#!/usr/bin/env bash
# tests/lab/test_ferryd_add_backend.sh: a 4th backend node joins a running lab: added to lab-tcp by `ferryctl reload`, then to lab-udp by SIGHUP; established TCP connections and UDP flows survive (zero resets, no flow moves), new flows reach the 4th backend.
# shellcheck disable=SC2317 # check helpers are called through check()
set -euo pipefail
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"

HOLD=40        # long-lived connections per client
GAP=0.2        # seconds between the messages of a long-lived connection
UDP_SPORT=42000

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
OLD=$(for i in $(seq 1 $LAB_NBACKENDS); do backend_name "$i"; done | paste -sd,)
generation() { lab_ctl_field generation status; }

lab_log "$((HOLD * LAB_NCLIENTS)) long-lived connections over $OLD, a line every ${GAP}s each"
lab_clients_bg "$RES" hold hold --host $VIP --port $VIP_TCP_PORT --conns $HOLD \
	--gap $GAP --timeout 3 --stop-file "$RES/stop" --ready "$RES/hold-{c}.ready" --deadline 70
wait_for 20 "every long-lived connection up" ls "$RES"/hold-{1..3}.ready ||
	fail "the long-lived connections did not come up: $(tail -n 3 "$LAB_LOGS/client-hold.err" 2>/dev/null)"

# A UDP stream from client 1 over 6 source ports, across both reloads.
lab_log "UDP stream: 100 datagrams/s over 6 flows"
nsx "${NS_C[0]}" timeout 60 "$PYTHON" "$LAB_DIR/lbclient.py" useq --host $VIP \
	--port $VIP_UDP_PORT --flows 6 --sport $UDP_SPORT --rate 100 --duration 14 \
	--linger 2 >"$RES/useq.json" 2>>"$LAB_LOGS/client-useq.err" &
USEQ_PID=$!
LAB_PIDS+=("$USEQ_PID")
sleep 1

lab_add_backend
NEW=$(backend_name $LAB_NBACKENDS)
ALL=$OLD,$NEW
lab_start_backend $LAB_NBACKENDS
wait_for 10 "$NEW listening" ls "$LAB_RUN/$NEW.ready" || fail "$NEW's server did not start"

lab_log "$NEW into lab-tcp: ferryctl reload"
GEN0=$(generation)
LAB_UDP_BACKENDS=$(seq 1 $((LAB_NBACKENDS - 1)) | paste -sd' ')
lab_write_conf
RELOAD_RC=0
RELOAD_OUT=$(lab_ctl reload 2>&1) || RELOAD_RC=$?
GEN1=$(generation)
TCP_STATE=$(lab_ctl_field "backends[node=$NEW].state" backends lab-tcp || echo absent)
UDP_HAS_NEW=$(lab_ctl_field "backends[node=$NEW].state" backends lab-udp 2>/dev/null || echo absent)
sleep 0.5
lab_clients "$RES" tcpnew tcp --host $VIP --port $VIP_TCP_PORT --conns 50 --concurrency 10 \
	--timeout 3 --deadline 30

lab_log "$NEW into lab-udp: SIGHUP"
unset LAB_UDP_BACKENDS
lab_write_conf
MARK=$(wc -l <"$LAB_FERRYD_LOG")
kill -HUP "$FERRYD_PID"
hup_reloaded() { tail -n "+$((MARK + 1))" "$LAB_FERRYD_LOG" | grep -E "reloaded: generation $((GEN1 + 1))\b"; }
wait_for 10 "ferryd reloads on SIGHUP" hup_reloaded || true
GEN2=$(generation)
UDP_STATE=$(lab_ctl_field "backends[node=$NEW].state" backends lab-udp || echo absent)
lab_clients "$RES" udpnew udp --host $VIP --port $VIP_UDP_PORT --flows 30 --count 2 \
	--timeout 1 --retries 2 --deadline 30

wait "$USEQ_PID" || true
touch "$RES/stop"
lab_clients_wait

echo "== $LAB_PREFIX: results"
check "hold: long-lived connections on every old backend" \
	"${CHECK[@]}" spread --all --total $((HOLD * LAB_NCLIENTS)) --backends "$OLD" \
	--min 0.15 --max 0.55 "$RES"/hold-c*.json
reload_ok() {
	echo "ferryctl reload: exit $RELOAD_RC: $RELOAD_OUT; generation $GEN0 -> $GEN1; $NEW on lab-tcp: $TCP_STATE, on lab-udp: $UDP_HAS_NEW"
	[ "$RELOAD_RC" -eq 0 ] && [ "$GEN1" -eq $((GEN0 + 1)) ] && [ "$TCP_STATE" = active ] &&
		[ "$UDP_HAS_NEW" = absent ]
}
check "ferryctl reload adds $NEW to lab-tcp (active), generation + 1" reload_ok
check "new TCP flows after the reload: all answered" \
	"${CHECK[@]}" complete --min $((50 * LAB_NCLIENTS)) "$RES"/tcpnew-c*.json
check "new TCP flows reach $NEW (spread over 4 backends)" \
	"${CHECK[@]}" spread --backends "$ALL" --min 0.10 --max 0.45 "$RES"/tcpnew-c*.json
hup_ok() {
	echo "SIGHUP: $(hup_reloaded | tail -n 1); generation $GEN1 -> $GEN2; $NEW on lab-udp: $UDP_STATE"
	[ "$GEN2" -eq $((GEN1 + 1)) ] && [ "$UDP_STATE" = active ] && hup_reloaded >/dev/null
}
check "SIGHUP adds $NEW to lab-udp (active), generation + 1, logged" hup_ok
check "new UDP flows after SIGHUP: all answered" \
	"${CHECK[@]}" complete --min $((30 * LAB_NCLIENTS)) "$RES"/udpnew-c*.json
check "new UDP flows reach $NEW" \
	"${CHECK[@]}" spread --backends "$ALL" --min 0.05 --max 0.60 "$RES"/udpnew-c*.json
check "every established TCP connection survives both reloads, zero resets, none moved" \
	"${CHECK[@]}" survive --backends "$OLD" --min $((HOLD * LAB_NCLIENTS)) "$RES"/hold-c*.json
check "the UDP stream across both reloads: every datagram answered, no flow moved" \
	"${CHECK[@]}" useq --min 1000 "$RES/useq.json"

lab_summary
