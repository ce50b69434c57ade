#!/usr/bin/env bash
# tests/lab/test_ecmp.sh: scale-out: two Ferry machines behind a BIRD router's ECMP, VIPs announced over BGP from ferryd's table: both carry traffic with equal rings; one machine's link dies under >= 100 long-lived connections and every connection lives on through the other (zero resets); a VIP whose backends all fail is withdrawn (timed), the other stays; the machine returns and takes new flows; ferryd's stop keeps the routes, --detach removes them.
# shellcheck disable=SC2317 # check helpers are called through check()
set -euo pipefail
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/lab/lib_ecmp.sh
. "$(dirname "$0")/lib_ecmp.sh"

INTERVAL_MS=500
FALL=2
ECMP_HEALTH="interval = $INTERVAL_MS; timeout = 200; rise = 2; fall = $FALL;"
WITHDRAW_LIMIT_S=$(lab_calc "$FALL * $INTERVAL_MS / 1000 + 1") # + BGP update
SHORT=60      # short connections per client, per round
HOLD=40       # long-lived connections per client (120 in all)
GAP=0.2       # seconds between the lines of a long-lived connection

lab_require
lab_require_ferryd
lab_require_ferryctl
ecmp_require
lab_trap "${FERRY_LAB_TIMEOUT:-150}"
ecmp_up
ecmp_start_servers
ecmp_start_ferryd 1
ecmp_start_ferryd 2
ecmp_start_birds

RES=$LAB_LOGS/results
mkdir -p "$RES"
CHECK=("$PYTHON" "$LAB_DIR/lbcheck.py")
ALL=$(for i in $(seq 1 $LAB_NBACKENDS); do backend_name "$i"; done | paste -sd,)
BOTH=$(ecmp_all_ferries)
F1=$(ferry_addr_n 1)
F2=$(ferry_addr_n 2)
STOP=$RES/stop

pkts() { ecmp_field "$1" "vips[name=$2].packets" vips || echo error; } # N VIP
# wait_route SECS ADDR "NEXTHOPS": until the router routes ADDR so; prints
# the seconds it took (or "never").
wait_route() {
	local t0 end
	t0=$(lab_now)
	end=$(lab_calc "$t0 + $1")
	while ! ecmp_route_is "$2" "$3"; do
		if awk "BEGIN { exit !($(lab_now) > $end) }"; then
			echo never
			return 1
		fi
		sleep 0.05
	done
	lab_calc "$(lab_now) - $t0"
}
routed_via() { # ADDR "NEXTHOPS"
	local got
	got=$(ecmp_nexthops "$1")
	echo "router: $1 via ${got:-(no route)}"
	[ "$got" = "$2" ]
}

lab_log "waiting for BGP: both VIPs via both Ferry machines"
T_CONV=$(wait_route 30 $VIP_A "$BOTH") || true
wait_route 10 $VIP_B "$BOTH" >/dev/null || true
lab_log "ECMP routes after ${T_CONV}s: $(ip -n "$NS_R" route show $VIP_A/32 | tr '\n\t' '  ')"

echo "== $LAB_PREFIX: both Ferry machines up"
check "router: $VIP_A (ecmp-a) via both Ferry machines" routed_via $VIP_A "$BOTH"
check "router: $VIP_B (ecmp-b) via both Ferry machines" routed_via $VIP_B "$BOTH"
announced_all() { # N VIP... : ferryctl vips says announced
	local n=$1 v a out="" rc=0
	shift
	for v in "$@"; do
		a=$(ecmp_field "$n" "vips[name=$v].announced" vips || echo error)
		out+="Ferry $n $v announced=$a; "
		[ "$a" = true ] || rc=1
	done
	echo "$out"
	return "$rc"
}
check "ferryctl vips: both VIPs announced on Ferry 1" announced_all 1 ecmp-a ecmp-b
check "ferryctl vips: both VIPs announced on Ferry 2" announced_all 2 ecmp-a ecmp-b
digests_equal() {
	local v d1 d2 out="" rc=0
	for v in ecmp-a ecmp-b; do
		d1=$(ecmp_field 1 "vips[name=$v].ring_digest" vips || echo error1)
		d2=$(ecmp_field 2 "vips[name=$v].ring_digest" vips || echo error2)
		out+="$v: $d1 / $d2; "
		[ "$d1" = "$d2" ] || rc=1
	done
	echo "$out"
	return "$rc"
}
check "ring digests equal on both Ferry machines" digests_equal
bfd_up() {
	local n
	n=$(ecmp_bfd_up r)
	echo "router: $n BFD sessions up: $(ecmp_birdc r show bfd sessions 2>&1 | tail -n +3 | tr -s ' \n' ' ')"
	[ "$n" -eq "$ECMP_NF" ]
}
bfd_all_up() { [ "$(ecmp_bfd_up r)" -eq "$ECMP_NF" ]; }
wait_for 5 "BFD sessions up" bfd_all_up || true
check "BFD: a session with each Ferry machine, up" bfd_up

lab_log "short connections: $((SHORT * LAB_NCLIENTS)) to ecmp-a"
A1=$(pkts 1 ecmp-a)
A2=$(pkts 2 ecmp-a)
lab_clients "$RES" short tcp --host $VIP_A --port $VIP_A_PORT --conns $SHORT \
	--concurrency 16 --timeout 3 --deadline 30
B1=$(pkts 1 ecmp-a)
B2=$(pkts 2 ecmp-a)
check "short connections through the ECMP router all answered" \
	"${CHECK[@]}" complete --min $((SHORT * LAB_NCLIENTS)) "$RES"/short-c*.json
both_carry() {
	echo "ecmp-a packets: Ferry 1 $A1 -> $B1, Ferry 2 $A2 -> $B2"
	[ "$A1" != error ] && [ "$B2" != error ] && [ "$B1" -gt "$A1" ] && [ "$B2" -gt "$A2" ]
}
check "both Ferry machines carry VIP traffic (ferryctl vips packet counters)" both_carry

# ---- one Ferry machine dies under long-lived connections ---------------------
lab_log "$((HOLD * LAB_NCLIENTS)) long-lived connections to ecmp-a, a line every ${GAP}s each"
lab_clients_bg "$RES" hold hold --host $VIP_A --port $VIP_A_PORT --conns $HOLD \
	--gap $GAP --timeout 4 --stop-file "$STOP" --ready "$RES/hold-{c}.ready" --deadline 90
wait_for 20 "every long-lived connection up" ls "$RES"/hold-{1..3}.ready ||
	fail "the long-lived connections did not come up: $(tail -n 3 "$LAB_LOGS/client-hold.err" 2>/dev/null)"
sleep 1
H1=$(pkts 1 ecmp-a)
sleep 1
H1B=$(pkts 1 ecmp-a)
H2B=$(pkts 2 ecmp-a)

lab_log "Ferry 1's link goes down"
ip -n "${NS_FN[0]}" link set dev eth0 down
T_DOWN_WD=$(wait_route 10 $VIP_A "$F2") || true
lab_log "router: $VIP_A via $F2 only after ${T_DOWN_WD}s"
ROUTE_DOWN=$(ecmp_nexthops $VIP_A)
TABLE1_DOWN=$(ecmp_table 1 | wc -l)
sleep 3
H2C=$(pkts 2 ecmp-a)

lab_log "Ferry 1's link comes back"
ip -n "${NS_FN[0]}" link set dev eth0 up
# the kernel dropped the default route with the link; the machine's network
# configuration puts it back (health probes need it)
ip -n "${NS_FN[0]}" route replace default via "$(router_addr_n 1)"
T_BACK=$(wait_route 30 $VIP_A "$BOTH") || true
lab_log "router: $VIP_A via both again after ${T_BACK}s"
ROUTE_BACK=$(ecmp_nexthops $VIP_A)
DIGESTS_BACK=$(digests_equal) && DIGESTS_BACK_OK=1 || DIGESTS_BACK_OK=0
sleep 1
lab_log "new short connections: $((SHORT * LAB_NCLIENTS)) to ecmp-a"
N1=$(pkts 1 ecmp-a)
lab_clients "$RES" back tcp --host $VIP_A --port $VIP_A_PORT --conns $SHORT \
	--concurrency 16 --timeout 3 --deadline 30
N1B=$(pkts 1 ecmp-a)
sleep 1
touch "$STOP"
lab_clients_wait
lab_log "long-lived connections done"

echo "== $LAB_PREFIX: Ferry 1 down and back (link down ${T_DOWN_WD}s to withdraw, ${T_BACK}s back)"
carried_before() {
	echo "Ferry 1 forwarded $((H1B - H1)) ecmp-a packets in the second before its link went down"
	[ "$H1" != error ] && [ "$H1B" -gt "$H1" ]
}
check "Ferry 1 carried long-lived connections before it went down" carried_before
withdrawn_down() {
	echo "router: $VIP_A via '${ROUTE_DOWN}' ${T_DOWN_WD}s after Ferry 1's link went down; Ferry 1's table $ECMP_TABLE: $TABLE1_DOWN routes (gone with the interface)"
	[ "$ROUTE_DOWN" = "$F2" ] && [ "$TABLE1_DOWN" -eq 0 ]
}
check "router withdraws Ferry 1 (and its routes vanish with its interface)" withdrawn_down
took_over() {
	echo "Ferry 2 forwarded $((H2C - H2B)) ecmp-a packets in the 3 s after"
	[ "$H2C" -gt "$H2B" ]
}
check "Ferry 2 takes over the traffic" took_over
check "every long-lived connection survives on its backend, zero resets" \
	"${CHECK[@]}" survive --backends "$ALL" --min 100 "$RES"/hold-c*.json
check "hold: >= 100 long-lived connections, spread over every backend" \
	"${CHECK[@]}" spread --all --total 100 --backends "$ALL" --min 0.15 --max 0.55 "$RES"/hold-c*.json
back_again() {
	echo "router: $VIP_A via '${ROUTE_BACK}' ${T_BACK}s after the link came back; Ferry 1: $(ecmp_table 1 | wc -l) routes in table $ECMP_TABLE"
	[ "$ROUTE_BACK" = "$BOTH" ]
}
check "Ferry 1 announced again once its link is back" back_again
digests_back() {
	echo "when Ferry 1 was announced again: $DIGESTS_BACK"
	[ "$DIGESTS_BACK_OK" -eq 1 ]
}
check "ring digests equal again when Ferry 1 returns (its health has settled)" digests_back
new_flows() {
	echo "Ferry 1 forwarded $((N1B - N1)) ecmp-a packets of the new connections"
	[ "$N1" != error ] && [ "$N1B" -gt "$N1" ]
}
check "new flows use Ferry 1 again" new_flows
check "new connections after the return all answered" \
	"${CHECK[@]}" complete --min $((SHORT * LAB_NCLIENTS)) "$RES"/back-c*.json

# ---- every backend of ecmp-b fails: ecmp-b withdrawn, ecmp-a stays ----------
lab_log "stopping every ecmp-b server (port $VIP_B_PORT)"
for i in $(seq 1 $LAB_NBACKENDS); do ecmp_stop_b_server "$i"; done
T_KILL=$(lab_now) # the last one has exited
# Polled together: when both ferryds have removed the route (health), when
# the router has (BGP).
T_B_FERRY=never
T_B_WD=never
while awk "BEGIN { exit !($(lab_now) - $T_KILL < 10) }"; do
	if [ "$T_B_FERRY" = never ] &&
		[ "$({ ecmp_table 1; ecmp_table 2; } | grep -c "^$VIP_B " || true)" -eq 0 ]; then
		T_B_FERRY=$(lab_calc "$(lab_now) - $T_KILL")
	fi
	if ecmp_route_is $VIP_B ""; then
		T_B_WD=$(lab_calc "$(lab_now) - $T_KILL")
		break
	fi
	sleep 0.02
done
lab_log "no route to $VIP_B in either Ferry table ${T_B_FERRY}s, in the router ${T_B_WD}s after its servers stopped"
echo "== $LAB_PREFIX: ecmp-b's backends down (withdrawn after ${T_B_WD}s, limit ${WITHDRAW_LIMIT_S}s)"
withdrawn_b() {
	echo "router: $VIP_B withdrawn ${T_B_WD}s after its last backend stopped (limit fall x interval + 1 s = ${WITHDRAW_LIMIT_S}s); both ferryds had removed their routes after ${T_B_FERRY}s"
	[ "$T_B_WD" != never ] && awk "BEGIN { exit !($T_B_WD <= $WITHDRAW_LIMIT_S) }"
}
check "ecmp-b withdrawn from the router within fall x interval + BGP update" withdrawn_b
check "ecmp-a stays announced via both Ferry machines" routed_via $VIP_A "$BOTH"
announced_b_false() {
	local n a out="" rc=0
	for n in 1 2; do
		a=$(ecmp_field "$n" "vips[name=ecmp-b].announced" vips || echo error)
		out+="Ferry $n ecmp-b announced=$a; "
		[ "$a" = false ] || rc=1
	done
	echo "$out"
	return "$rc"
}
check "ferryctl vips: ecmp-b not announced on either machine" announced_b_false
announced_a_both() { announced_all 1 ecmp-a && announced_all 2 ecmp-a; }
check "ferryctl vips: ecmp-a still announced on both" announced_a_both

# ---- ferryd stops: routes stay; --detach: routes go first ----------------------
lab_log "stopping ferryd on Ferry 2 (the dataplane keeps forwarding)"
ecmp_stop_ferryd 2
sleep "$(lab_calc "$INTERVAL_MS * $FALL / 1000 + 0.5")"
TABLE2_STOPPED=$(ecmp_table 2 | grep -c "^$VIP_A " || true)
ROUTE_STOPPED=$(ecmp_nexthops $VIP_A)
lab_log "ferryd --detach on Ferry 2"
DETACH_OUT=$(ecmp_detach 2 2>&1) || DETACH_OUT="failed: $DETACH_OUT"
TABLE2_DETACHED=$(ecmp_table 2 | wc -l)
T_DETACH_WD=$(wait_route 10 $VIP_A "$F1") || true
echo "== $LAB_PREFIX: ferryd stop and --detach on Ferry 2"
routes_outlive_ferryd() {
	echo "after ferryd stopped: Ferry 2's table holds $VIP_A: $TABLE2_STOPPED; router: via '$ROUTE_STOPPED'"
	[ "$TABLE2_STOPPED" -eq 1 ] && [ "$ROUTE_STOPPED" = "$BOTH" ]
}
check "the routes outlive ferryd (the pinned program still forwards)" routes_outlive_ferryd
detach_withdraws() {
	echo "ferryd --detach: '$(printf '%s' "$DETACH_OUT" | tr '\n' ' ')'; Ferry 2's table: $TABLE2_DETACHED routes; router: $VIP_A via $F1 only after ${T_DETACH_WD}s"
	[ "$TABLE2_DETACHED" -eq 0 ] && [ "$T_DETACH_WD" != never ]
}
check "ferryd --detach withdraws every VIP first" detach_withdraws
ferryd1_running() {
	ecmp_ferryd_alive 1 && echo "pid ${ECMP_FERRYD_PID[1]}" && return 0
	echo "ferryd on Ferry 1 exited: $(tail -n 3 "$(ecmp_ferryd_log 1)" | tr '\n' ' ')"
	return 1
}
check "ferryd on Ferry 1 still running" ferryd1_running

echo "== $LAB_PREFIX: times: converge ${T_CONV}s, link-down withdraw ${T_DOWN_WD}s, back ${T_BACK}s, ecmp-b withdraw ${T_B_WD}s (ferryd ${T_B_FERRY}s), detach withdraw ${T_DETACH_WD}s"
lab_summary
