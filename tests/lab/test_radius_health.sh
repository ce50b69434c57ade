#!/usr/bin/env bash
# tests/lab/test_radius_health.sh: radius health checks (RFC 5997 Status-Server with Message-Authenticator) against a real FreeRADIUS on a backend: down while nothing listens, up once it answers (auth and acct), down within fall x interval + 1 s after it stops, up after a restart; down with a FreeRADIUS that holds another secret for Ferry (it drops the request) and with responders whose answers fail verification.
# shellcheck disable=SC2317 # check helpers are called through check()
set -euo pipefail
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"

SECRET=ferry-lab-s3cret
INTERVAL=300 # ms
TIMEOUT=200  # ms
FALL=2
RISE=1
RB=1 # the backend running FreeRADIUS
RNODE=$(backend_name $RB)
# Down at most fall x interval after the server stops (each failure is
# immediate: ICMP port unreachable), plus 1 s for polling and ferryctl.
DOWN_BOUND=$(lab_calc "$FALL * $INTERVAL / 1000 + 1")

lab_require
lab_require_ferryd
lab_require_ferryctl
lab_require_freeradius
lab_trap "${FERRY_LAB_TIMEOUT:-85}"
lab_up
lab_start_servers
lab_start_ferryd

GOOD=$LAB_RUN/raddb-good
WRONG=$LAB_RUN/raddb-wrong
lab_freeradius_conf "$GOOD" "$SECRET"
# Every probe to a closed port gets its ICMP port unreachable (the kernel's
# default rate limit would turn most of them into timeouts).
nsysctl "${NS_B[$((RB - 1))]}" net.ipv4.icmp_ratelimit 0
lab_freeradius_conf "$WRONG" "not-$SECRET"
RADLOG=$LAB_LOGS/freeradius-$RNODE.log

# Two VIPs on the RADIUS ports, one backend: FreeRADIUS's node.
radius_vip() { # NAME PORT MODE
	cat <<EOF
  {
    name = "$1";
    address = "$VIP";
    port = $2;
    protocol = "udp";
    health = { type = "radius"; radius = "$3"; secret = "$SECRET";
               interval = $INTERVAL; timeout = $TIMEOUT; rise = $RISE; fall = $FALL; };
    backends = ( { node = "$RNODE"; } );
  }
EOF
}
lab_conf_add_vips "$(radius_vip lab-radius 1812 auth),
$(radius_vip lab-radius-acct 1813 acct)"
out=$(timeout 10 ip netns exec "$NS_F" "$FERRYD" -c "$LAB_CONF" --check 2>&1) ||
	fail "ferryd --check refuses the radius VIPs: $out"
out=$(lab_ctl reload 2>&1) || fail "ferryctl reload failed: $out"
lab_log "radius VIPs added: $out"

# radius_health: one line per radius VIP, "VIP HEALTH OK FAILED LAST_ERROR"
# of the FreeRADIUS node's backend (one ferryctl call on the control socket).
radius_health() {
	lab_ctl --json backends | "$PYTHON" -c '
import json, sys
for b in json.load(sys.stdin)["backends"]:
    if b["vip"].startswith("lab-radius") and b["node"] == sys.argv[1]:
        c = b["check"]
        print(b["vip"], b["health"], c["ok"], c["failed"], c["last_error"] or "-")' "$RNODE"
}
# get VIP: H, OK, FAILED, ERR of VIP's backend ("-": no error).
get() {
	local v h ok f err
	H='' OK='' FAILED='' ERR=''
	while read -r v h ok f err; do
		[ "$v" = "$1" ] || continue
		H=$h OK=$ok FAILED=$f ERR=$err
	done < <(radius_health)
	[ -n "$H" ]
}
show() { echo "$1: health $H, ok $OK, failed $FAILED, last_error '$ERR'"; }

# expect VIP HEALTH [ERROR] [SECONDS]: VIP's backend reaches HEALTH (and
# last_error ERROR) within SECONDS (default 5).
expect() {
	local vip=$1 want=$2 err=${3:-} end=$((SECONDS + ${4:-5}))
	while :; do
		get "$vip" || return 1
		[ "$H" = "$want" ] && { [ -z "$err" ] || [ "$ERR" = "$err" ]; } && break
		[ "$SECONDS" -lt "$end" ] || { show "$vip"; echo "wanted $want${err:+ ($err)}"; return 1; }
		sleep 0.1
	done
	show "$vip"
}

# answering VIP: up, no error, and the ok count grows with no new failure.
answering() {
	local vip=$1 ok1 f1
	expect "$vip" up - 5 >/dev/null || { show "$vip"; return 1; }
	ok1=$OK f1=$FAILED
	sleep "$(lab_calc "3 * $INTERVAL / 1000")"
	get "$vip"
	show "$vip"
	echo "ok $ok1 -> $OK, failed $f1 -> $FAILED"
	[ "$H" = up ] && [ "$OK" -ge $((ok1 + 2)) ] && [ "$FAILED" -eq "$f1" ] && [ "$ERR" = - ]
}

# watch_down T0: poll until both radius VIPs' backends are down (10 s at
# most; ferryctl's table, no python: a poll takes milliseconds);
# DOWN_AFTER[VIP]: seconds from T0 to the poll that saw it down, then
# DOWN_ERR[VIP]: its last_error.
declare -A DOWN_AFTER DOWN_ERR
watch_down() {
	local t0=$1 end=$((SECONDS + 10)) v h
	DOWN_AFTER=() DOWN_ERR=()
	while [ ${#DOWN_AFTER[@]} -lt 2 ] && [ $SECONDS -lt $end ]; do
		# columns: VIP NODE ADDRESS WEIGHT STATE HEALTH ...
		while read -r v h; do
			[ "$h" = down ] && [ -z "${DOWN_AFTER[$v]:-}" ] &&
				DOWN_AFTER[$v]=$(lab_calc "$(lab_now) - $t0")
		done < <(lab_ctl backends | awk -v n="$RNODE" '$1 ~ /^lab-radius/ && $2 == n { print $1, $6 }')
		sleep 0.02
	done
	for v in "${!DOWN_AFTER[@]}"; do
		get "$v"
		DOWN_ERR[$v]=$ERR
	done
}
down_within() { # VIP BOUND ERROR: as watch_down saw it
	local took=${DOWN_AFTER[$1]:-never}
	echo "$1 down after ${took}s (bound ${2}s), last_error '${DOWN_ERR[$1]:-}'"
	[ "$took" != never ] && awk "BEGIN { exit !($took <= $2) }" &&
		[ "${DOWN_ERR[$1]}" = "$3" ]
}

radlog_has() { grep -q -- "$1" "$RADLOG"; }

lab_log "nothing listens on $RNODE's RADIUS ports yet"
check "no RADIUS server: auth check down (ICMP port unreachable)" \
	expect lab-radius down "Connection refused"
check "no RADIUS server: acct check down" \
	expect lab-radius-acct down "Connection refused"

lab_log "starting FreeRADIUS on $RNODE"
lab_start_freeradius $RB "$GOOD"
check "FreeRADIUS running: auth check (Status-Server -> Access-Accept) up" answering lab-radius
check "FreeRADIUS running: acct check (Status-Server -> Accounting-Response) up" answering lab-radius-acct
table_up() { # ferryctl's table for VIP: the node's row says up, radius
	local out
	out=$(lab_ctl backends "$1") || return 1
	echo "$out" | grep -E "^$1 +$RNODE .* up .* radius "
}
check "ferryctl backends shows the radius checks up" table_up lab-radius
check "FreeRADIUS saw Ferry's Status-Server on both ports and answered" bash -c "
	grep -q 'Received Status-Server Id .* from $FERRY_ADDR:.* to .*:1812' '$RADLOG' &&
	grep -q 'Sent Access-Accept Id .* to $FERRY_ADDR:' '$RADLOG' &&
	grep -q 'Sent Accounting-Response Id .* to $FERRY_ADDR:' '$RADLOG' &&
	grep -m1 -A1 'Received Status-Server Id .* from $FERRY_ADDR' '$RADLOG' | grep -q 'Message-Authenticator = 0x'"

lab_log "stopping FreeRADIUS"
T0=$(lab_now)
lab_stop_freeradius $RB
watch_down "$T0"
check "FreeRADIUS stopped: auth check down within fall x interval + 1 s" \
	down_within lab-radius "$DOWN_BOUND" "Connection refused"
check "FreeRADIUS stopped: acct check down within fall x interval + 1 s" \
	down_within lab-radius-acct "$DOWN_BOUND" "Connection refused"

lab_log "restarting FreeRADIUS"
lab_start_freeradius $RB "$GOOD"
check "FreeRADIUS restarted: auth check up again" answering lab-radius
check "FreeRADIUS restarted: acct check up again" answering lab-radius-acct

lab_log "FreeRADIUS with another secret for Ferry"
lab_stop_freeradius $RB
MARK=$(wc -l <"$RADLOG")
lab_start_freeradius $RB "$WRONG"
# FreeRADIUS verifies the request's Message-Authenticator, finds it made
# with another secret and drops the request: no answer within the timeout.
check "wrong secret: auth check down (the server drops the request: timeout)" \
	expect lab-radius down timeout
check "wrong secret: acct check down" expect lab-radius-acct down timeout
check "wrong secret: FreeRADIUS rejected Ferry's Message-Authenticator" bash -c "
	tail -n +$((MARK + 1)) '$RADLOG' | grep -m1 'invalid Message-Authenticator.*Shared secret is incorrect'"
lab_stop_freeradius $RB

# Answers that fail Ferry's own verification: a responder on the auth port
# signing with another secret, then one answering an authentic Reject.
cat >"$LAB_RUN/fake_radius.py" <<'EOF'
import hashlib, socket, struct, sys
mode, secret, ready = sys.argv[1], sys.argv[2].encode(), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 1812))
open(ready, "w").close()
while True:
    req, peer = s.recvfrom(4096)
    if len(req) < 20 or req[0] != 12:
        continue
    code, key = (3, secret) if mode == "reject" else (2, b"not-" + secret)
    hdr = struct.pack("!BBH", code, req[1], 20)
    s.sendto(hdr + hashlib.md5(hdr + req[4:20] + key).digest(), peer)
EOF
fake() { # MODE: start the fake responder on backend RB, wait until bound
	rm -f "$LAB_RUN/fake.ready"
	lab_bg "${NS_B[$((RB - 1))]}" fake-radius.log "$PYTHON" "$LAB_RUN/fake_radius.py" \
		"$1" "$SECRET" "$LAB_RUN/fake.ready"
	FAKE_PID=${LAB_PIDS[-1]}
	wait_for 5 "fake responder bound" ls "$LAB_RUN/fake.ready" || fail "fake responder did not start"
}
fake badsecret
check "answers signed with another secret: down, 'bad response authenticator'" \
	expect lab-radius down "bad response authenticator"
lab_kill_pids "$FAKE_PID"
fake reject
check "authentic Access-Reject: down, 'code 3'" expect lab-radius down "code 3"
lab_kill_pids "$FAKE_PID"

lab_summary
