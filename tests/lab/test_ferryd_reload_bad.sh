#!/usr/bin/env bash
# tests/lab/test_ferryd_reload_bad.sh: broken configs under traffic: `ferryctl reload` and SIGHUP refuse a syntax error and an unknown node with FILE:LINE: message (exit 1, logged), the generation stays and traffic is unaffected; then a good config changing one VIP's weight: generation + 1, the other VIP untouched.
# shellcheck disable=SC2317 # check helpers are called through check()
set -euo pipefail
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"

HOLD=30          # long-lived TCP connections per client
GAP=0.2
OPEN_RATE=20     # new TCP connections per second per client
UDP_SPORT=44000
WHERE_FLOWS=40   # hypothetical lab-tcp flows whose ring choice must not move
WHERE_SPORT=51000

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
GOOD=$RES/good.conf
cp "$LAB_CONF" "$GOOD"
# Whatever happens, ferryd --detach at teardown reads a valid file.
# shellcheck disable=SC2016 # expanded at teardown
lab_at_teardown 'cp -f "$GOOD" "$LAB_CONF"'

generation() { lab_ctl_field generation status; }
digest() { lab_ctl_field "vips[name=$1].ring_digest" vips; } # VIP
where_map() { # lab-tcp's choice for WHERE_FLOWS flows from client 1, one line each
	local p
	for p in $(seq $WHERE_SPORT $((WHERE_SPORT + WHERE_FLOWS - 1))); do
		printf '%s %s\n' "$p" "$(lab_ctl --json where "$(client_addr 1)" "$p" $VIP $VIP_TCP_PORT tcp |
			sed -n 's/.*"backend":"\([^"]*\)".*/\1/p')"
	done
}
# line_of REGEX: the first line of the good config matching REGEX
line_of() { grep -nE "$1" "$GOOD" | head -n 1 | cut -d: -f1; }
# broken NAME LINE REPLACEMENT: the good config with line LINE replaced
broken() { sed "$2s/.*/$3/" "$GOOD" >"$RES/$1.conf"; }
# log_since MARK: ferryd's log lines after line MARK
log_since() { tail -n "+$(($1 + 1))" "$LAB_FERRYD_LOG"; }

L_SYNTAX=$(line_of '^    port = '"$VIP_TCP_PORT"';')
L_NODE=$(line_of '\{ node = "b2"; \}')
broken syntax "$L_SYNTAX" "    port = @$VIP_TCP_PORT;"
broken node "$L_NODE" '      { node = "b9"; },'
MSG_SYNTAX="$LAB_CONF:$L_SYNTAX: syntax error"
MSG_NODE="$LAB_CONF:$L_NODE: unknown node \"b9\""

lab_log "traffic: $((HOLD * LAB_NCLIENTS)) long-lived TCP connections, new ones at $OPEN_RATE/s per client, a UDP stream"
lab_clients_bg "$RES" hold hold --host $VIP --port $VIP_TCP_PORT --conns $HOLD \
	--gap $GAP --timeout 3 --stop-file "$RES/stop" --ready "$RES/hold-{c}.ready" --deadline 70
wait_for 20 "every long-lived connection up" ls "$RES"/hold-{1..3}.ready ||
	fail "the long-lived connections did not come up: $(tail -n 3 "$LAB_LOGS/client-hold.err" 2>/dev/null)"
lab_clients_bg "$RES" open open --host $VIP --port $VIP_TCP_PORT --rate $OPEN_RATE \
	--concurrency 32 --timeout 2 --stop-file "$RES/stop-open" --deadline 60
nsx "${NS_C[0]}" timeout 60 "$PYTHON" "$LAB_DIR/lbclient.py" useq --host $VIP \
	--port $VIP_UDP_PORT --flows 6 --sport $UDP_SPORT --rate 100 --duration 8 \
	--linger 2 >"$RES/useq.json" 2>>"$LAB_LOGS/client-useq.err" &
USEQ_PID=$!
LAB_PIDS+=("$USEQ_PID")
sleep 1

GEN0=$(generation)
# ctl_bad NAME: install broken config NAME, ferryctl reload; "rc|stderr|log"
# in RES/NAME.ctl
ctl_bad() {
	local rc=0 out mark
	cp "$RES/$1.conf" "$LAB_CONF"
	mark=$(wc -l <"$LAB_FERRYD_LOG")
	out=$(lab_ctl reload 2>&1 >/dev/null) || rc=$?
	sleep 0.2
	cp "$GOOD" "$LAB_CONF"
	printf '%s|%s|%s|%s\n' "$rc" "$out" "$(log_since "$mark" | grep -i refused | tail -n 1)" \
		"$(generation)" >"$RES/$1.ctl"
}
# hup_bad NAME: install broken config NAME, SIGHUP; "log|generation" in RES/NAME.hup
hup_bad() {
	local mark
	cp "$RES/$1.conf" "$LAB_CONF"
	mark=$(wc -l <"$LAB_FERRYD_LOG")
	kill -HUP "$FERRYD_PID"
	wait_for 5 "ferryd refuses the SIGHUP reload" sh -c \
		"tail -n +$((mark + 1)) '$LAB_FERRYD_LOG' | grep -qi refused" || true
	cp "$GOOD" "$LAB_CONF"
	printf '%s|%s\n' "$(log_since "$mark" | grep -i refused | tail -n 1)" "$(generation)" >"$RES/$1.hup"
}
lab_log "ferryctl reload: syntax error at line $L_SYNTAX, unknown node at line $L_NODE"
ctl_bad syntax
ctl_bad node
lab_log "SIGHUP with the same two files"
hup_bad syntax
hup_bad node
RELOADS_FAILED=$(lab_ctl_field reloads.failed status)
wait "$USEQ_PID" || true
touch "$RES/stop-open"

lab_log "a good config: lab-udp's b1 weight 1 -> 3, ferryctl reload"
TCP_DIGEST0=$(digest lab-tcp)
UDP_DIGEST0=$(digest lab-udp)
where_map >"$RES/where-before.txt"
LAB_UDP_BACKENDS="1:3 $(seq 2 $LAB_NBACKENDS | paste -sd' ')"
lab_write_conf
cp "$LAB_CONF" "$GOOD"
GOOD_RC=0
GOOD_OUT=$(lab_ctl reload 2>&1) || GOOD_RC=$?
GEN1=$(generation)
TCP_DIGEST1=$(digest lab-tcp)
UDP_DIGEST1=$(digest lab-udp)
B1_WEIGHT=$(lab_ctl_field "backends[node=$(backend_name 1)].weight" backends lab-udp)
where_map >"$RES/where-after.txt"
sleep 2
touch "$RES/stop"
lab_clients_wait

echo "== $LAB_PREFIX: results"
# refused_ctl NAME WANT: ferryctl exit 1, stderr and log name WANT, generation kept
refused_ctl() {
	local rc out log gen
	IFS='|' read -r rc out log gen <"$RES/$1.ctl"
	echo "exit $rc; stderr: $out; log: $log; generation $GEN0 -> $gen"
	[ "$rc" -eq 1 ] && [ "$out" = "ferryctl: $2" ] &&
		case $log in *"reload refused, generation $GEN0 keeps serving: $2"*) true ;; *) false ;; esac &&
		[ "$gen" = "$GEN0" ]
}
check "ferryctl reload, syntax error: exit 1, \"FILE:$L_SYNTAX: syntax error\", logged, generation kept" \
	refused_ctl syntax "$MSG_SYNTAX"
check "ferryctl reload, unknown node: exit 1, \"FILE:$L_NODE: unknown node\", logged, generation kept" \
	refused_ctl node "$MSG_NODE"
refused_hup() {
	local log gen
	IFS='|' read -r log gen <"$RES/$1.hup"
	echo "log: ${log:-nothing}; generation $GEN0 -> $gen"
	case $log in *"reload refused, generation $GEN0 keeps serving: $2"*) true ;; *) false ;; esac &&
		[ "$gen" = "$GEN0" ]
}
check "SIGHUP, syntax error: refused, log names FILE:$L_SYNTAX, generation kept" refused_hup syntax "$MSG_SYNTAX"
check "SIGHUP, unknown node: refused, log names FILE:$L_NODE, generation kept" refused_hup node "$MSG_NODE"
check "ferryctl status counts 4 failed reloads" sh -c "echo 'reloads failed: $RELOADS_FAILED'; [ '$RELOADS_FAILED' = 4 ]"
check "traffic during the refused reloads: every new TCP connection answered" \
	"${CHECK[@]}" complete --min 200 "$RES"/open-c*.json
check "traffic during the refused reloads: every UDP datagram answered" \
	"${CHECK[@]}" useq --min 700 "$RES/useq.json"
good_reload() {
	echo "ferryctl reload: exit $GOOD_RC: $GOOD_OUT; generation $GEN0 -> $GEN1; lab-udp's b1 weight $B1_WEIGHT"
	[ "$GOOD_RC" -eq 0 ] && [ "$GEN1" -eq $((GEN0 + 1)) ] && [ "$B1_WEIGHT" = 3 ]
}
check "good config (one VIP's weight changed): reload ok, generation + 1" good_reload
digests() {
	echo "lab-tcp ring $TCP_DIGEST0 -> $TCP_DIGEST1; lab-udp ring $UDP_DIGEST0 -> $UDP_DIGEST1"
	[ -n "$TCP_DIGEST0" ] && [ "$TCP_DIGEST0" = "$TCP_DIGEST1" ] && [ "$UDP_DIGEST0" != "$UDP_DIGEST1" ]
}
check "lab-tcp's ring untouched, lab-udp's rebuilt" digests
where_same() {
	local n moved
	n=$(awk 'NF == 2' "$RES/where-before.txt" | wc -l)
	moved=$(diff "$RES/where-before.txt" "$RES/where-after.txt" | grep -c '^>' || true)
	echo "$n lab-tcp flows: ferryctl where names the same backend for $((n - moved)), another for $moved"
	[ "$n" -eq "$WHERE_FLOWS" ] && [ "$moved" -eq 0 ]
}
check "lab-tcp: ferryctl where picks the same backends after the reload" where_same
check "lab-tcp: every established connection keeps its backend through it all, zero resets" \
	"${CHECK[@]}" survive --backends "$ALL" --min $((HOLD * LAB_NCLIENTS)) "$RES"/hold-c*.json

lab_summary
