#!/usr/bin/env bash
# tests/lab/test_radius_pins.sh: acceptance test of RADIUS behind Ferry: three FreeRADIUS nodes (clients: the NASes' own addresses) behind source-hash UDP VIPs on 1812 and 1813 with radius health probes and pins; every NAS (a lab client, radclient) answered by its pinned node only, which sees the NAS's own address; over-MTU Accounting-Requests fragmented by the NAS reach the pinned node whole; a stopped node's NASes move to the fallback within fall x interval + 1 s; a hold pin drops (counted) while its only node is down; failback immediate, after N seconds and manual (ferryctl pin failback).
# shellcheck disable=SC2317 # check helpers are called through check()
set -euo pipefail
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"

PROBE_SECRET=ferry-probe-s3cret # Ferry's Status-Server probes (client "ferry")
# The NASes' secret, another one: a request whose source Ferry rewrote to
# its own address would be checked with the probe secret and fail, one
# from any other address is from no client at all.
NAS_SECRET=lab-nas-s3cret
INTERVAL=500 # ms
TIMEOUT=200  # ms
FALL=2
RISE=2
AFTER=3 # s: failback of NAS 1's pin on the acct VIP
VA=radius-auth
VC=radius-acct
AUTH_PORT=1812
ACCT_PORT=1813
N=8 # requests per NAS and kind in a batch
# A stopped node is down fall x interval after it stops answering (the
# probes fail at once: ICMP port unreachable); + 1 s for the pin move,
# the next request (every 0.1 s) and radclient's start.
FAIL_BOUND=$(lab_calc "$FALL * $INTERVAL / 1000 + 1")
# A restarted node is up rise x interval after it answers again.
UP_BOUND=$(lab_calc "$RISE * $INTERVAL / 1000 + 1")

lab_require
lab_require_ferryd
lab_require_ferryctl
lab_skip_without_freeradius
lab_require_freeradius
lab_trap "${FERRY_LAB_TIMEOUT:-115}"
lab_up
lab_start_servers
lab_start_ferryd

NAS=()
for i in 1 2 3; do NAS[i]=$(client_addr "$i"); done
NET24=${NAS[1]%.*}.0/24 # covers every NAS: the hold pin (NAS 3's)
STAMPED=$LAB_LOGS/ferryd.stamped
PROBES=$LAB_LOGS/probes
mkdir -p "$PROBES"
lab_stamp_log "$LAB_FERRYD_LOG" "$STAMPED"

# ---- FreeRADIUS on every backend ------------------------------------------
# Its clients: the three NASes' own addresses (NAS_SECRET), Ferry's address
# (its Status-Server probes, PROBE_SECRET) and localhost (the readiness
# check); no catch-all: a request from any other source is ignored.
RAD=()
for j in 1 2 3; do
	RAD[j]=$LAB_RUN/raddb-$(backend_name "$j")
	lab_freeradius_conf "${RAD[j]}" "$PROBE_SECRET"
	lab_freeradius_nas "${RAD[j]}" "$(backend_name "$j")" "$NAS_SECRET" "${NAS[@]}"
	# probes to a stopped server fail at once (ICMP port unreachable)
	nsysctl "${NS_B[$((j - 1))]}" net.ipv4.icmp_ratelimit 0
	lab_launch_freeradius "$j" "${RAD[j]}"
done
for j in 1 2 3; do lab_await_freeradius "$j" "${RAD[j]}"; done
radius_start() { # J: restart backend J's FreeRADIUS, wait until it answers
	lab_launch_freeradius "$1" "${RAD[$1]}"
	lab_await_freeradius "$1" "${RAD[$1]}"
}
radlog() { echo "$LAB_LOGS/freeradius-$(backend_name "$1").log"; }

# The accounting VIP first: later fragments (no port) of the address go by
# the first source-hash VIP of the address (conf/README.md, Fragments), and
# Accounting-Requests are what grows past the MTU.
radius_vip() { # NAME PORT MODE PIN_VIP_SETTINGS PIN1_EXTRA PIN2_EXTRA
	cat <<EOF
  {
    name = "$1";
    address = "$VIP";
    port = $2;
    protocol = "udp";
    hash = "source";
    health = { type = "radius"; radius = "$3"; secret = "$PROBE_SECRET";
               interval = $INTERVAL; timeout = $TIMEOUT; rise = $RISE; fall = $FALL; };
    backends = ( { node = "b1"; }, { node = "b2"; }, { node = "b3"; } );$4
    pins = (
      { peer = "${NAS[1]}"; nodes = [ "b1", "b2" ];$5 },
      { peer = "${NAS[2]}"; nodes = [ "b2", "b3" ];$6 },
      { peer = "$NET24"; nodes = [ "b3" ]; all_down = "hold"; }
    );
  }
EOF
}
lab_conf_add_vips "$(radius_vip $VC $ACCT_PORT acct '' " failback = $AFTER;" ' failback = "manual";'),
$(radius_vip $VA $AUTH_PORT auth '
    pin_failback = "immediate";' '' '')"
out=$(timeout 10 ip netns exec "$NS_F" "$FERRYD" -c "$LAB_CONF" --check 2>&1) ||
	fail "ferryd --check refuses the radius VIPs: $out"
out=$(lab_ctl reload 2>&1) || fail "ferryctl reload failed: $out"
lab_log "radius VIPs added: $out"

# radius_up: every backend of both radius VIPs up on at least RISE probes.
radius_up() {
	lab_ctl --json backends | "$PYTHON" -c '
import json, sys
bs = [b for b in json.load(sys.stdin)["backends"] if b["vip"].startswith("radius-")]
bad = [b["vip"] + "/" + b["node"] for b in bs
       if b["health"] != "up" or b["check"]["ok"] < int(sys.argv[1])]
print("%d radius backends, not up yet: %s" % (len(bs), bad or "none"))
sys.exit(1 if bad or len(bs) != 6 else 0)' "$RISE"
}
wait_for 15 "both radius VIPs' backends up" radius_up ||
	fail "radius backends not up: $(radius_up || true)"

# ---- helpers ----------------------------------------------------------------
port_of() { if [ "$1" = auth ]; then echo $AUTH_PORT; else echo $ACCT_PORT; fi; }
ns_c() { echo "${NS_C[$(($1 - 1))]}"; } # I: NAS I's namespace
ns_b() { echo "${NS_B[$(($1 - 1))]}"; } # J: backend J's namespace

# request I KIND TAG [EXTRA]: the attributes of a KIND request of NAS I,
# User-Name (and Acct-Session-Id) "cI-KIND-TAG", then EXTRA lines.
request() {
	local u=c$1-$2-$3
	if [ "$2" = auth ]; then
		printf 'User-Name = "%s"\nUser-Password = "%s"\n' "$u" "$LAB_RADIUS_PASSWORD"
	else
		printf 'Acct-Status-Type = Interim-Update\nAcct-Session-Id = "%s"\nUser-Name = "%s"\n' "$u" "$u"
	fi
	[ -z "${4:-}" ] || printf '%s\n' "$4"
}

# radclient_from I KIND ARGS...: radclient -x in NAS I's namespace to the
# VIP's KIND port: one try, -t 2. radclient compares whole seconds
# (time()): with several requests outstanding, -t 1 times one out anywhere
# from 0 to 1 s after it left, and a fraction (-t 0.3) busy-polls until
# the next second; -t 2 waits 1 to 2 s.
radclient_from() {
	local i=$1 kind=$2
	shift 2
	nsx "$(ns_c "$i")" timeout 10 radclient -x -r 1 -t 2 "$@" \
		"$VIP:$(port_of "$kind")" "$kind" "$NAS_SECRET"
}

# served_by: the answers' nodes (Reply-Message) in radclient -x output.
served_by() { sed -n 's/^\s*Reply-Message = "served-by \(b[0-9]*\)"$/\1/p'; }
tally() { sort | uniq -c | awk '{ printf "%s%s=%s", s, $2, $1; s = " " }'; } # "b1=3 b2=1"

# batch I KIND PHASE NODE: N requests of NAS I (one radclient, 4 at a
# time, tagged PHASE-1..N), every one answered by NODE.
batch() {
	local i=$1 kind=$2 ph=$3 want=$4 k f=$LAB_RUN/req-c$1-$2-$3 out got n
	for k in $(seq 1 "$N"); do
		request "$i" "$kind" "$ph-$k"
		echo
	done >"$f"
	out=$(radclient_from "$i" "$kind" -p 4 -f "$f" 2>&1) || true
	n=$(printf '%s\n' "$out" | grep -c '^Received \(Access-Accept\|Accounting-Response\)' || true)
	got=$(printf '%s\n' "$out" | served_by | tally)
	echo "NAS c$i ($kind): $n of $N answered, by ${got:-nobody}"
	[ "$n" -eq "$N" ] && [ "$got" = "$want=$N" ]
}

# unanswered I PHASE: N auth and N acct requests of NAS I, each its own
# radclient, all at once: none answered.
unanswered() {
	local i=$1 ph=$2 d=$LAB_RUN/held-c$1-$2 kind k p pids=() n
	mkdir -p "$d"
	for kind in auth acct; do
		for k in $(seq 1 "$N"); do
			request "$i" "$kind" "$ph-$k" | radclient_from "$i" "$kind" >"$d/$kind-$k" 2>&1 &
			pids+=($!)
		done
	done
	for p in "${pids[@]}"; do wait "$p" || true; done
	n=$(cat "$d"/* | grep -c '^Received' || true)
	echo "NAS c$i: $n of $((2 * N)) answered ($N auth, $N acct)"
	[ "$n" -eq 0 ]
}

# detail_rows: every request the servers logged, one line each,
# "NODE KIND USER SRC DST DPORT", from the detail files (KIND auth: auth_log,
# acct: detail; SRC, DST, DPORT: the packet header FreeRADIUS saw).
detail_rows() {
	local j f kind
	for j in 1 2 3; do
		for f in "${RAD[j]}"/log/radacct/*/*detail-*; do
			[ -e "$f" ] || continue
			case ${f##*/} in auth-*) kind=auth ;; *) kind=acct ;; esac
			awk -v node="$(backend_name "$j")" -v kind="$kind" 'BEGIN { RS = "" }
				{
					u = s = d = p = "-"
					for (i = 1; i < NF; i++) {
						if ($i == "User-Name") u = $(i + 2)
						if ($i == "Packet-Src-IP-Address") s = $(i + 2)
						if ($i == "Packet-Dst-IP-Address") d = $(i + 2)
						if ($i == "Packet-Dst-Port") p = $(i + 2)
					}
					gsub(/"/, "", u)
					print node, kind, u, s, d, p
				}' "$f"
		done
	done
}

# logged I KIND PHASE NODE COUNT: the servers logged COUNT of NAS I's KIND
# requests of PHASE, all on NODE, each from NAS I's address to VIP:port.
logged() {
	local i=$1 kind=$2 ph=$3 want=$4 count=$5 rows on bad
	rows=$(detail_rows | awk -v k="$kind" -v p="c$i-$kind-$ph-" '$2 == k && index($3, p) == 1')
	on=$(printf '%s\n' "$rows" | awk 'NF { print $1 }' | tally)
	bad=$(printf '%s\n' "$rows" | awk -v s="${NAS[i]}" -v d="$VIP" -v p="$(port_of "$kind")" \
		'NF && ($4 != s || $5 != d || $6 != p)' | head -n 3)
	echo "NAS c$i ($kind, $ph) logged by ${on:-nobody}; packets ${NAS[i]} -> $VIP:$(port_of "$kind")${bad:+; other headers: $bad}"
	[ "$on" = "$want=$count" ] && [ -z "$bad" ]
}

# pins_dump: every pin as `ferryctl --json pins` has it, one per line:
# "VIP PEER TARGET ACTION PACKETS WHY..." (TARGET "-": none).
pins_dump() {
	lab_ctl --json pins | "$PYTHON" -c '
import json, sys
for p in json.load(sys.stdin)["pins"]:
    print(p["vip"], p["peer"], p["target"] or "-", p["action"], p["packets"], p["why"])'
}
# pin VIP PEER: P_TARGET, P_ACTION, P_PACKETS, P_WHY of that pin (an
# address without a length is a /32, as ferryctl shows it).
pin() {
	local peer=$2 row
	case $peer in */*) ;; *) peer=$peer/32 ;; esac
	row=$(pins_dump | awk -v v="$1" -v p="$peer" '$1 == v && $2 == p') || return 1
	[ -n "$row" ] || return 1
	read -r _ _ P_TARGET P_ACTION P_PACKETS P_WHY <<<"$row"
}
# pin_is VIP PEER TARGET ACTION WHY: the pin's target, action and why
# (grep -E pattern).
pin_is() {
	pin "$1" "$2" || { echo "no pin $2 on $1"; return 1; }
	echo "$1 $2: target $P_TARGET, $P_ACTION, why '$P_WHY', $P_PACKETS packets"
	[ "$P_TARGET" = "$3" ] && [ "$P_ACTION" = "$4" ] && printf '%s' "$P_WHY" | grep -qE -- "$5"
}
# pins_are T1 T2 T3 A3 W1 W2 W3: on both VIPs, c1's pin forwards to T1
# (why: grep -E W1), c2's to T2 (W2), and the /24 pin has target T3,
# action A3 (W3); one ferryctl call.
pins_are() {
	local dump v spec p t a w row rt ra rw out="" rc=0
	dump=$(pins_dump) || return 1
	for v in $VA $VC; do
		for spec in "${NAS[1]}/32|$1|forward|$5" "${NAS[2]}/32|$2|forward|$6" "$NET24|$3|$4|$7"; do
			IFS='|' read -r p t a w <<<"$spec"
			row=$(awk -v v="$v" -v p="$p" '$1 == v && $2 == p' <<<"$dump")
			read -r _ _ rt ra _ rw <<<"$row"
			out+="$v $p: $rt $ra '$rw'; "
			{ [ "$rt" = "$t" ] && [ "$ra" = "$a" ] && printf '%s' "$rw" | grep -qE -- "$w"; } || rc=1
		done
	done
	echo "$out"
	return "$rc"
}
# pin_row VIP PEER PATTERN: the pin's line of the `ferryctl pins VIP`
# table (the human view, spaces squeezed) matches PATTERN (grep -E).
pin_row() {
	local l
	l=$(lab_ctl pins "$1" | awk -v p="$2" '$2 == p' | tr -s ' ') || return 1
	echo "$l"
	printf '%s' "$l" | grep -qE -- "$3"
}
pin_table() { # `ferryctl pins`: its header, and a row with a why for each of the 6 pins
	local out
	out=$(lab_ctl pins) || return 1
	echo "$out" | tr -s ' '
	[ "$(echo "$out" | head -n 1 | tr -s ' ')" = "VIP PEER NODES TARGET ACTION FAILBACK PACKETS BYTES WHY" ] &&
		[ "$(echo "$out" | awk -v a="$VA" -v c="$VC" 'NR > 1 && ($1 == a || $1 == c) && NF >= 9' | wc -l)" -eq 6 ]
}

stat_reason() { lab_ctl_field "reasons.$1" stats; }

# stamp PATTERN AFTER: when ferryd logged the first line matching PATTERN
# (grep -E) at or after the Unix time AFTER (lab_stamp_log's copy).
stamp() { awk -v a="$2" '$1 >= a' "$STAMPED" | grep -E -m1 -- "$1" | awk '{ print $1 }'; }
stamped() { [ -n "$(stamp "$@")" ]; }
stamp_wait() { # PATTERN AFTER: wait up to 10 s, print the time
	wait_for 10 "ferryd logs '$1'" stamped "$1" "$2" || return 1
	stamp "$1" "$2"
}

# ---- probes: a request every 0.1 s -------------------------------------------
# probe_start NAME I KIND: one radclient in NAS I's namespace sending a KIND
# request every 0.1 s (-n 10; one try each, -t 2; tagged NAME-K, 30 s
# of them) until probe_stop NAME; its -x output, each line time-stamped, in
# $PROBES/NAME-cI-KIND: when each request left, when each answer came, and
# from which node.
declare -A PROBE_PID
probe_start() {
	local name=$1 i=$2 kind=$3 f=$LAB_RUN/req-$1-c$2-$3 k
	for k in $(seq 1 300); do
		request "$i" "$kind" "$name-$k"
		echo
	done >"$f"
	lab_stamp_run "$PROBES/$name-c$i-$kind" ip netns exec "$(ns_c "$i")" stdbuf -oL \
		radclient -x -n 10 -p 300 -r 1 -t 2 -f "$f" "$VIP:$(port_of "$kind")" "$kind" "$NAS_SECRET"
	PROBE_PID[$name-c$i-$kind]=$LAB_STAMP_PID
}
probe_stop() { # NAME: end NAME's radclients (the time in $PROBES/NAME.stop)
	local k
	lab_now >"$PROBES/$1.stop"
	for k in "${!PROBE_PID[@]}"; do
		case $k in "$1"-*) ;; *) continue ;; esac
		kill -TERM "${PROBE_PID[$k]}" 2>/dev/null || true
		wait "${PROBE_PID[$k]}" 2>/dev/null || true
		unset "PROBE_PID[$k]"
	done
}
# probes NAME I KIND: the requests in send order, "TAG SENT DONE NODE"
# (Unix times; DONE "-" and NODE "none": no answer), without those still
# undecided: unanswered and sent less than 0.5 s before the probe stopped
# (or before now, while it runs).
probes() {
	local cut
	if [ -s "$PROBES/$1.stop" ]; then cut=$(cat "$PROBES/$1.stop"); else cut=$(lab_now); fi
	awk -v cut="$(lab_calc "$cut - 0.5")" '
	$2 == "Sent" { n++; id[$5] = n; sent[n] = $1; done[n] = "-"; node[n] = "none"; cur = n; mode = "s"; next }
	$2 == "Received" { cur = id[$5]; mode = "r"; if (cur) done[cur] = $1; next }
	$2 == "User-Name" && mode == "s" { t = $4; gsub(/"/, "", t); tag[cur] = t; next }
	$2 == "Reply-Message" && mode == "r" && cur { t = $5; gsub(/"/, "", t); node[cur] = t; next }
	END { for (k = 1; k <= n; k++) if (node[k] != "none" || sent[k] <= cut) print tag[k], sent[k], done[k], node[k] }' "$PROBES/$1-c$2-$3"
}
# first_answer NAME I KIND NODE [AFTER] [FIELD]: of the requests sent at or
# after AFTER and answered by NODE, the first: its DONE (FIELD 3) or SENT (2).
first_answer() {
	probes "$1" "$2" "$3" | awk -v n="$4" -v a="${5:-0}" -v c="${6:-3}" \
		'$4 == n && $2 >= a && (!f || $c < f) { f = $c } END { if (f) printf "%.3f", f }'
}
answered_by() { [ -n "$(first_answer "$@")" ]; }
# answers NAME I KIND NODE N: at least N requests answered by NODE
# (NODE "none": unanswered, or not yet).
answers() { [ "$(probes "$1" "$2" "$3" | awk -v n="$4" '$4 == n' | wc -l)" -ge "$5" ]; }
wait_answer() { # NAME I KIND NODE AFTER SECONDS: until NODE answered a request sent after AFTER
	wait_for "$6" "an answer from $4 to c$2's $3 probes" answered_by "$1" "$2" "$3" "$4" "$5" || true
}

# moved NAME I KIND FROM TO T0 BOUND SINCE [alive]: the first answer from
# TO to NAS I's requests sent after SINCE came within BOUND s of T0, every
# request sent after it was answered by TO, and those sent from SINCE to
# T0 - 0.3 s were answered by FROM ("none": not at all). With "alive"
# (FROM still serving: a failback), every request from SINCE until 0.3 s
# before the first one TO answered was answered by FROM, none lost.
moved() {
	local name=$1 i=$2 kind=$3 from=$4 to=$5 t0=$6 bound=$7 since=$8 alive=${9:-} f s took r b wb l a wa end
	f=$(first_answer "$name" "$i" "$kind" "$to" "$since")
	s=$(first_answer "$name" "$i" "$kind" "$to" "$since" 2)
	if [ -z "$f" ]; then
		echo "no answer from $to; answers: $(probes "$name" "$i" "$kind" | awk -v s="$since" '$2 >= s { print $4 }' | tally)"
		return 1
	fi
	took=$(lab_calc "$f - $t0")
	end=$t0
	[ -z "$alive" ] || end=$s
	r=$(probes "$name" "$i" "$kind" | awk -v s="$since" -v e="$end" -v t="$s" -v f="$f" -v from="$from" -v to="$to" '
		$2 < s { next }
		$2 < e - 0.3 { b++; if ($4 != from) wb++ }
		$2 >= e - 0.3 && $2 < t && $4 == "none" { l++ }
		$2 > f { a++; if ($4 != to) wa++ }
		END { printf "%d %d %d %d %d", b, wb, l, a, wa }')
	read -r b wb l a wa <<<"$r"
	echo "c$i $kind: $from -> $to: first answer from $to ${took}s after T0 (bound ${bound}s); before: $b requests, $wb not answered by $from; then $l unanswered; after: $a requests, $wa not answered by $to"
	[ "$b" -gt 0 ] && [ "$wb" -eq 0 ] && [ "$a" -ge 3 ] && [ "$wa" -eq 0 ] &&
		{ [ -z "$alive" ] || [ "$l" -eq 0 ]; } &&
		awk "BEGIN { exit !($took >= 0 && $took <= $bound) }"
}

# failback_after NAME I KIND FROM TO UP SECS: NAS I's requests stayed on FROM
# for SECS s after TO was up (ferryd's log, at UP), then went to TO within
# 1 s; every request sent meanwhile answered by FROM, every one after by TO.
failback_after() {
	local name=$1 i=$2 kind=$3 from=$4 to=$5 up=$6 secs=$7 f s took r w ww a wa
	f=$(first_answer "$name" "$i" "$kind" "$to" "$up")
	s=$(first_answer "$name" "$i" "$kind" "$to" "$up" 2)
	if [ -z "$f" ] || [ -z "$up" ]; then
		echo "no answer from $to (up at '$up')"
		return 1
	fi
	took=$(lab_calc "$f - $up")
	r=$(probes "$name" "$i" "$kind" | awk -v up="$up" -v s="$s" -v f="$f" -v from="$from" -v to="$to" '
		$2 >= up && $2 < s { w++; if ($4 != from) ww++ }
		$2 > f { a++; if ($4 != to) wa++ }
		END { printf "%d %d %d %d", w, ww, a, wa }')
	read -r w ww a wa <<<"$r"
	echo "c$i $kind: first request to $to sent $(lab_calc "$s - $up")s, answered ${took}s after $to was up (failback = $secs s); while waiting: $w requests, $ww not answered by $from; after: $a, $wa not answered by $to"
	[ "$ww" -eq 0 ] && [ "$w" -ge $((secs * 10 - 5)) ] && [ "$a" -ge 2 ] && [ "$wa" -eq 0 ] &&
		awk "BEGIN { exit !($s - $up >= $secs - 0.05 && $took <= $secs + 1) }"
}

declare -A MEASURED # what the summary line reports
measure() { # KEY NAME I KIND NODE T0 AFTER: seconds from T0 to NODE's first answer
	local f
	f=$(first_answer "$2" "$3" "$4" "$5" "$7")
	if [ -n "$f" ] && [ -n "$6" ]; then MEASURED[$1]=$(lab_calc "$f - $6"); else MEASURED[$1]=never; fi
}

# ---- 1. every NAS on its primary --------------------------------------------
echo "== $LAB_PREFIX: RADIUS NASes pinned behind $VIP ($VC on $ACCT_PORT, $VA on $AUTH_PORT)"
check "pins: 'ferryctl pins' lists the 6 pins under its header" pin_table
check "pins: every pin on its primary (target, action forward, why primary)" \
	pins_are b1 b2 b3 forward '^primary$' '^primary$' '^primary$'
for kind in auth acct; do
	check "steady: NAS c1's $N $kind requests all answered by b1" batch 1 $kind s b1
	check "steady: NAS c2's $N $kind requests all answered by b2" batch 2 $kind s b2
	check "steady: NAS c3's $N $kind requests all answered by b3 (the /24 pin)" batch 3 $kind s b3
done
for kind in auth acct; do
	for i in 1 2 3; do
		check "steady: server logs: NAS c$i's $kind requests logged on b$i only, source ${NAS[i]} intact" \
			logged $i $kind s "b$i" $N
	done
done
radlog_has() { grep -m1 -- "$2" "$(radlog "$1")"; } # J PATTERN
unknown_client() { # b1 ignores a request from an address not in its clients.conf
	local out n r
	r=$(nsx "$NS_R" ip -4 -o route get "$(backend_addr 1)" | sed -n 's/.* src \([0-9.]*\).*/\1/p')
	out=$(request 1 acct uc-1 | nsx "$NS_R" timeout 10 radclient -x -r 1 -t 2 \
		"$(backend_addr 1):$ACCT_PORT" acct "$NAS_SECRET" 2>&1) || true
	n=$(printf '%s\n' "$out" | grep -c '^Received' || true)
	echo "router ($r) -> b1: $n answers;"
	[ "$n" -eq 0 ] && radlog_has 1 "from unknown client $r port"
}
check "steady: premise: b1 ignores the same request from the router's address (not a client)" unknown_client
check "steady: b1's -X log: Access-Request from ${NAS[1]} to the VIP" \
	radlog_has 1 "Received Access-Request Id .* from ${NAS[1]}:[0-9]* to $VIP:$AUTH_PORT "
check "steady: b1's -X log: Accounting-Request from ${NAS[1]} to the VIP" \
	radlog_has 1 "Received Accounting-Request Id .* from ${NAS[1]}:[0-9]* to $VIP:$ACCT_PORT "

# ---- 2. Accounting-Requests larger than the path MTU ------------------------
# 11 Class attributes of 250 bytes: about 2.8 kB, which the NAS (MTU 1500)
# sends as two fragments; the later one carries no UDP header.
CLASSES=$(for k in $(seq 10 20); do printf 'Class = 0x%02x%s\n' "$k" "$(printf 'ab%.0s' $(seq 249))"; done)
snmp() { # NS FIELD: the Ip: counter FIELD of /proc/net/snmp in NS
	# shellcheck disable=SC2016 # awk's program
	nsx "$1" awk -v f="$2" '$1 == "Ip:" { if (!h) { for (i = 2; i <= NF; i++) c[$i] = i; h = 1 } else print $(c[f]) }' /proc/net/snmp
}
# big I J TAG: one big Accounting-Request from NAS I: fragmented by the NAS,
# reassembled by node J, logged there (-X: its length; detail: its source)
# and answered by J.
big() {
	local i=$1 j=$2 tag=$3 out len got fc0 fc1 ro0 ro1 mtu
	fc0=$(snmp "$(ns_c "$i")" FragCreates)
	ro0=$(snmp "$(ns_b "$j")" ReasmOKs)
	out=$(request "$i" acct "$tag-1" "$CLASSES" | radclient_from "$i" acct 2>&1) || true
	fc1=$(snmp "$(ns_c "$i")" FragCreates)
	ro1=$(snmp "$(ns_b "$j")" ReasmOKs)
	mtu=$(nsx "$(ns_c "$i")" cat /sys/class/net/eth0/mtu)
	len=$(printf '%s\n' "$out" | sed -n 's/^Sent Accounting-Request .* length \([0-9]*\)$/\1/p' | head -n 1)
	got=$(printf '%s\n' "$out" | served_by | head -n 1)
	echo "c$i: ${len:-?}-byte Accounting-Request, $((fc1 - fc0)) fragments from the NAS (MTU $mtu), $((ro1 - ro0)) reassembled on b$j, answered by ${got:-nobody};"
	[ "${len:-0}" -gt $((mtu + 1000)) ] && [ $((fc1 - fc0)) -ge 2 ] && [ $((ro1 - ro0)) -ge 1 ] &&
		[ "$got" = "b$j" ] &&
		radlog_has "$j" "Received Accounting-Request Id .* from ${NAS[i]}:[0-9]* to $VIP:$ACCT_PORT length $len\$" &&
		logged "$i" acct "$tag" "b$j" 1
}
FRAG0=$(stat_reason fragment)
for i in 1 2 3; do
	check "fragments: NAS c$i's 2.8 kB Accounting-Request (2 fragments) reaches b$i whole, answered" big $i $i big
done
no_frag_drops() {
	local n
	n=$(stat_reason fragment) || return 1
	echo "ferryctl stats: fragment drops $FRAG0 before, $n after"
	[ "$n" -eq 0 ]
}
check "fragments: no fragment drops" no_frag_drops

# ---- 3. b1 stops: NAS c1 moves to b2 ----------------------------------------
lab_log "stopping FreeRADIUS on b1"
TS=$(lab_now)
probe_start f1 1 auth
probe_start f1 1 acct
wait_for 10 "c1's probes answered by b1" answers f1 1 auth b1 5 || true
wait_for 5 "c1's probes answered by b1" answers f1 1 acct b1 5 || true
T0=$(lab_now)
lab_stop_freeradius 1
wait_answer f1 1 auth b2 "$T0" 6
wait_answer f1 1 acct b2 "$T0" 6
sleep 1
measure "1 c1 auth failover b1->b2 (from stop)" f1 1 auth b2 "$T0" "$T0"
measure "1 c1 acct failover b1->b2 (from stop)" f1 1 acct b2 "$T0" "$T0"
check "failover: c1's auth requests b1 -> b2 within fall x interval + 1 s" moved f1 1 auth b1 b2 "$T0" "$FAIL_BOUND" "$TS"
check "failover: c1's acct requests b1 -> b2 within fall x interval + 1 s" moved f1 1 acct b1 b2 "$T0" "$FAIL_BOUND" "$TS"
check "failover: ferryctl pins: c1 on b2 on both VIPs, why b1 is down; the others on their primaries" \
	pins_are b2 b2 b3 forward '^fallback; b1 is down$' '^primary$' '^primary$'
check "failover: the 'ferryctl pins' table row says so" \
	pin_row $VC "${NAS[1]}/32" "^$VC ${NAS[1]}/32 b1,b2 b2 forward after=${AFTER}s [0-9]+ [0-9]+ fallback; b1 is down\$"

# ---- 4. b1 back: auth fails back at once, acct after AFTER s -----------------
lab_log "restarting FreeRADIUS on b1"
T1=$(lab_now)
radius_start 1
T1R=$(lab_now) # it answers Status-Server again
UPA=$(stamp_wait "backend b1 of VIP $VA: up" "$T1") || UPA=
UPC=$(stamp_wait "backend b1 of VIP $VC: up" "$T1") || UPC=
wait_answer f1 1 auth b1 "$T1" 5
# While c1's acct pin waits (its auth pin is back on b1), a big Accounting-
# Request: its later fragment (no port) must follow the acct VIP's pin too.
TB0=$(lab_now)
check "fragments: during the acct failback wait, c1's 2.8 kB Accounting-Request reaches b2 whole" \
	big 1 2 bigwait
TB1=$(lab_now)
check "failback pending: ferryctl pins: c1's acct pin on b2, 'b1 is up again, failback pending'" \
	pin_is $VC "${NAS[1]}" b2 forward '^fallback; b1 is up again, failback pending$'
wait_answer f1 1 acct b1 "$T1" $((AFTER + 4))
sleep 1.2
probe_stop f1
in_wait() { # the big request went out while auth was back on b1 and acct not yet
	local a c
	a=$(first_answer f1 1 auth b1 "$T1") c=$(first_answer f1 1 acct b1 "$T1" 2)
	echo "auth back on b1 at ${a:-?}, big request $TB0 .. $TB1, acct's first request to b1 sent at ${c:-?}"
	[ -n "$a" ] && [ -n "$c" ] && awk "BEGIN { exit !($a <= $TB0 && $TB1 <= $c) }"
}
check "fragments: ... and that was while c1's auth pin was on b1 and its acct pin on b2" in_wait
measure "2 c1 auth failback b2->b1 (from b1 answering)" f1 1 auth b1 "$T1R" "$T1"
measure "2 c1 auth failback b2->b1 (from ferryd: b1 up)" f1 1 auth b1 "$UPA" "$T1"
measure "2 c1 acct failback b2->b1 (from ferryd: b1 up; failback = $AFTER)" f1 1 acct b1 "$UPC" "$T1"
check "failback immediate: c1's auth requests b2 -> b1 within rise x interval + 1 s of b1 answering" \
	moved f1 1 auth b2 b1 "$T1R" "$UP_BOUND" "$T1" alive
back_at_up() { # NAME I KIND NODE UP AFTER: first answer from NODE within 1 s of UP, none before
	local f
	f=$(first_answer "$1" "$2" "$3" "$4" "$6")
	if [ -z "$f" ] || [ -z "$5" ]; then
		echo "no answer from $4 or no up time"
		return 1
	fi
	echo "c$2 $3: first answer from $4 $(lab_calc "$f - $5")s after ferryd marked it up"
	awk "BEGIN { exit !($f >= $5 && $f - $5 <= 1) }"
}
check "failback immediate: ... that is within 1 s of ferryd marking b1 up" back_at_up f1 1 auth b1 "$UPA" "$T1"
check "failback after ${AFTER} s: c1's acct requests stay on b2 ${AFTER} s after b1 is up, then go to b1" \
	failback_after f1 1 acct b2 b1 "$UPC" "$AFTER"
check "failback done: ferryctl pins: c1 on b1 (primary) on both VIPs" \
	pins_are b1 b2 b3 forward '^primary$' '^primary$' '^primary$'

# ---- 5. b2 stops: NAS c2 moves to b3 ----------------------------------------
lab_log "stopping FreeRADIUS on b2"
TS=$(lab_now)
probe_start f2 2 auth
probe_start f2 2 acct
wait_for 10 "c2's probes answered by b2" answers f2 2 auth b2 5 || true
wait_for 5 "c2's probes answered by b2" answers f2 2 acct b2 5 || true
T2=$(lab_now)
lab_stop_freeradius 2
wait_answer f2 2 auth b3 "$T2" 6
wait_answer f2 2 acct b3 "$T2" 6
sleep 1
measure "3 c2 auth failover b2->b3 (from stop)" f2 2 auth b3 "$T2" "$T2"
measure "3 c2 acct failover b2->b3 (from stop)" f2 2 acct b3 "$T2" "$T2"
check "failover: c2's auth requests b2 -> b3 within fall x interval + 1 s" moved f2 2 auth b2 b3 "$T2" "$FAIL_BOUND" "$TS"
check "failover: c2's acct requests b2 -> b3 within fall x interval + 1 s" moved f2 2 acct b2 b3 "$T2" "$FAIL_BOUND" "$TS"
check "failover: ferryctl pins: c2 on b3, why b2 is down; c1 and the /24 on their primaries" \
	pins_are b1 b3 b3 forward '^primary$' '^fallback; b2 is down$' '^primary$'

# ---- 6. b2 back: auth at once, acct (manual) only on `ferryctl pin failback` --
lab_log "restarting FreeRADIUS on b2"
T3=$(lab_now)
radius_start 2
T3R=$(lab_now)
UPC2=$(stamp_wait "backend b2 of VIP $VC: up" "$T3") || UPC2=$T3R
wait_answer f2 2 auth b2 "$T3" 5
# manual: still on b3 well after b2 is up (longer than the timed pin waits)
lab_sleep_until "$(lab_calc "$UPC2 + $AFTER + 1")"
# shellcheck disable=SC2016 # the backquotes are ferryctl's
check "failback manual: ferryctl pins: c2's acct pin still on b3 $(lab_calc "$(lab_now) - $UPC2")s after b2 is up, waiting for 'ferryctl pin failback'" \
	pin_is $VC "${NAS[2]}" b3 forward '^fallback; b2 is up again, failback waits for `ferryctl pin failback`$'
failback_cmd() { # WANT: `ferryctl pin failback VC c2`; its message has WANT
	local out
	out=$(lab_ctl pin failback "$VC" "${NAS[2]}" 2>&1) || { echo "$out"; return 1; }
	echo "$out"
	printf '%s' "$out" | grep -q -- "$1"
}
T4=$(lab_now)
check "failback manual: 'ferryctl pin failback $VC ${NAS[2]}' moves it" failback_cmd 'back on its first usable node'
wait_answer f2 2 acct b2 "$T3" 4
sleep 1.2
probe_stop f2
measure "4 c2 auth failback b3->b2 (from b2 answering)" f2 2 auth b2 "$T3R" "$T3"
measure "4 c2 acct manual failback b3->b2 (from the command)" f2 2 acct b2 "$T4" "$T3"
check "failback immediate: c2's auth requests b3 -> b2 within rise x interval + 1 s of b2 answering" \
	moved f2 2 auth b3 b2 "$T3R" "$UP_BOUND" "$T3" alive
check "failback manual: c2's acct requests on b3 until the command ($(lab_calc "$T4 - $UPC2")s after b2 was up), then on b2 within 1 s" \
	moved f2 2 acct b3 b2 "$T4" 1 "$T3" alive
check "failback manual: a second 'ferryctl pin failback' has nothing to move" failback_cmd 'already on its first usable node'
refused() { # ferryctl pin failback of a peer without a pin: exit 1, and why
	local out rc=0
	out=$(lab_ctl pin failback "$VC" 10.77.9.9 2>&1) || rc=$?
	echo "exit $rc: $out"
	[ "$rc" -eq 1 ] && printf '%s' "$out" | grep -q 'no pin'
}
check "failback manual: a peer without a pin is refused (exit 1)" refused

# ---- 7. b3 stops: NAS c3 (the /24 pin, hold) is dropped, counted ------------
lab_log "stopping FreeRADIUS on b3"
T5=$(lab_now)
lab_stop_freeradius 3
THC=$(stamp_wait "pin $NET24 on VIP $VC: every node down: holding" "$T5") || THC=
THA=$(stamp_wait "pin $NET24 on VIP $VA: every node down: holding" "$T5") || THA=
if [ -n "$THC" ]; then MEASURED["5 c3 acct held (from stop)"]=$(lab_calc "$THC - $T5"); fi
if [ -n "$THA" ]; then MEASURED["5 c3 auth held (from stop)"]=$(lab_calc "$THA - $T5"); fi
held_within() {
	local c=${THC:+$(lab_calc "$THC - $T5")} a=${THA:+$(lab_calc "$THA - $T5")}
	echo "held ${c:-never} s (acct), ${a:-never} s (auth) after b3 stopped (ferryd's log); bound ${FAIL_BOUND}s"
	[ -n "$c" ] && [ -n "$a" ] && awk "BEGIN { exit !($c <= $FAIL_BOUND && $a <= $FAIL_BOUND) }"
}
check "hold: b3 down: the /24 pin holds on both VIPs within fall x interval + 1 s" held_within
check "hold: ferryctl pins: the /24 pin: no target, action hold, why every node down" \
	pins_are b1 b2 - hold '^primary$' '^primary$' '^every node down: hold'
pin $VA "$NET24" && PA0=$P_PACKETS
pin $VC "$NET24" && PC0=$P_PACKETS
HOLD1=$(stat_reason pin_hold)
check "hold: NAS c3's $N auth and $N acct requests get no answer" unanswered 3 h
hold_counted() {
	local h pa pc
	h=$(stat_reason pin_hold) || return 1
	pin "$VA" "$NET24" && pa=$P_PACKETS
	pin "$VC" "$NET24" && pc=$P_PACKETS
	echo "ferryctl stats pin_hold $HOLD1 -> $h for $((2 * N)) requests; /24 pin packets: $VA $PA0 -> $pa, $VC $PC0 -> $pc"
	[ $((h - HOLD1)) -eq $((2 * N)) ] && [ $((pa - PA0)) -eq "$N" ] && [ $((pc - PC0)) -eq "$N" ]
}
check "hold: each held request counted once: ferryctl stats pin_hold and the pin's packets" hold_counted
not_logged() { # PATTERN: no server logged a request whose user matches
	local n
	n=$(detail_rows | awk -v p="$1" '$3 ~ p' | wc -l)
	echo "$n logged"
	[ "$n" -eq 0 ]
}
check "hold: no server logged NAS c3's held requests" not_logged '^c3-(auth|acct)-h-'
check "hold: NAS c1 is not held (answered by b1)" batch 1 acct hc b1
check "hold: NAS c2 is not held (answered by b2)" batch 2 acct hc b2

# ---- 8. b3 back: NAS c3 served again at once ----------------------------------
lab_log "restarting FreeRADIUS on b3"
probe_start f3 3 acct
wait_for 10 "c3's probes sent" answers f3 3 acct none 5 || true
T6=$(lab_now)
radius_start 3
T6R=$(lab_now)
UPC3=$(stamp_wait "backend b3 of VIP $VC: up" "$T6") || UPC3=
wait_answer f3 3 acct b3 "$T6" 5
sleep 1.2
probe_stop f3
measure "6 c3 acct hold ends (from b3 answering)" f3 3 acct b3 "$T6R" "$T6"
measure "6 c3 acct hold ends (from ferryd: b3 up)" f3 3 acct b3 "$UPC3" "$T6"
check "hold ends: c3's acct requests answered by b3 within rise x interval + 1 s of b3 answering" \
	moved f3 3 acct none b3 "$T6R" "$UP_BOUND" 0
check "hold ends: ... within 1 s of ferryd marking b3 up" back_at_up f3 3 acct b3 "$UPC3" "$T6"

# ---- 9. the end: primaries, consistency ----------------------------------------
check "end: ferryctl pins: every pin on its primary again" \
	pins_are b1 b2 b3 forward '^primary$' '^primary$' '^primary$'
for i in 1 2 3; do
	check "end: NAS c$i's $N auth requests answered by b$i" batch $i auth e "b$i"
done
# every answered probe was logged by the node that answered it, and only there
consistent() {
	local f n
	LC_ALL=C join -a 1 -e x -o 1.1,1.2,2.2 \
		<(for f in "$PROBES"/*-c*-*; do
			n=${f##*/}
			probes "${n%%-*}" "$(echo "$n" | cut -d- -f2 | tr -d c)" "${n##*-}"
		done | awk '{ print $1, $4 }' | LC_ALL=C sort) \
		<(detail_rows | awk '{ print $3, $1 }' | LC_ALL=C sort) |
		awk '{ n++; if ($2 != "none") { a++; if ($3 != $2) bad[++b] = $0 } }
			END { printf "%d probe requests, %d answered; answered but logged elsewhere or twice: %d", n, a, b
				for (i = 1; i <= b && i <= 3; i++) printf "; %s", bad[i]
				exit !(a > 0 && b == 0) }'
}
check "end: every answered probe request was logged by the node that answered it, only" consistent
drops_zero() {
	local f n
	f=$(stat_reason fragment) && n=$(stat_reason no_backend) || return 1
	echo "fragment $f, no_backend $n"
	[ "$f" -eq 0 ] && [ "$n" -eq 0 ]
}
check "end: no fragment or no_backend drops" drops_zero
check "end: ferryd still running" ferryd_alive
echo "measured (seconds):"
for k in "${!MEASURED[@]}"; do printf '  %s: %s\n' "$k" "${MEASURED[$k]}"; done | sort
lab_summary
