#!/usr/bin/env bash
# tests/lab/test_metrics.sh: ferryd's /metrics in the netns lab: promtool-valid exposition, counters equal to what the backends received, the same through a Prometheus scraping it (PromQL), alerting rules firing on a backend down and a refused reload, ferryctl stats --watch, a taken exporter port failing startup. Engine-aware (LAB_ENGINE=dpdk: test_dpdk_metrics.sh): per-lcore series, ferry-dpdk's own counters.
#
# How "what the backends received" is counted, exactly:
#   - every packet Ferry forwards reaches its backend encapsulated, and the
#     backend's XDP decap program counts each one it decapsulates
#     (decap_stats[LB_DECAP_DONE], read with bpftool); health probes go to
#     the node's own address unencapsulated and are not counted there. So
#     per backend: sum over VIPs of ferry_backend_packets_total == decap
#     DONE on that backend;
#   - every UDP datagram through the VIP is one packet, and lbserver.py logs
#     one "udp" line per datagram it receives: ferry_backend_packets_total
#     {vip="lab-udp"} == the backend's udp lines, and the TCP VIP's share
#     is the rest of the decap count;
#   - per VIP: ferry_vip_packets_total == the sum over its backends (no
#     drops in this lab).
# Counters are compared once the traffic has stopped (and the last TCP
# ACKs are through).
#
# With LAB_ENGINE=dpdk: engine "dpdk" on the tap; per-lcore series
# ferry_lcore_packets_total{lcore} (the forwarding lcores' EAL ids) instead
# of ferry_cpu_packets_total{cpu}; conntrack capacity = dataplane.flows
# (rounded up to a power of two) x forwarding lcores; ferry-dpdk's own
# counters (ferry_dpdk_*_total) agree with its ports' ethdev counters (its
# INFO, read before and after the page: they bracket it), every frame of
# the af_packet data port is realigned (the PMD puts frames at 0 mod 4:
# the IP header at 2 mod 4), nothing dropped or linearized, and
# exception_rx grows with the kernel's own traffic (health probes).
# shellcheck disable=SC2317 # check helpers are called through check()
set -euo pipefail
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"

# Fast probes: a stopped backend is down within half a second.
LAB_HEALTH="interval = 200; timeout = 100; rise = 2; fall = 2;"
TCP_CONNS=40  # per client
TCP_MSGS=3    # lines per connection
UDP_FLOWS=10  # per client
UDP_COUNT=5   # datagrams per flow
UDP_SPORT=42000 # flow i of each client from source port UDP_SPORT + i
VICTIM=3      # the backend whose service stops
VNAME=$(backend_name $VICTIM)
EXPORTER=127.0.0.1:9469 # ferryd's default, inside Ferry's namespace
PROM=127.0.0.1:9090     # our Prometheus, inside Ferry's namespace too

lab_require
lab_require_ferryd
lab_require_ferryctl
for t in prometheus promtool bpftool; do
	command -v "$t" >/dev/null 2>&1 || fail "'$t' not found: run tests/deps.sh"
done
lab_trap "${FERRY_LAB_TIMEOUT:-120}"
lab_up
lab_start_servers
lab_start_ferryd

RES=$LAB_LOGS/results
PROM_DIR=$LAB_RUN/prometheus
mkdir -p "$RES" "$PROM_DIR/data"
CHECK=("$PYTHON" "$LAB_DIR/lbcheck.py")
MET=("$PYTHON" "$LAB_DIR/lbmetrics.py")
RULES=$LAB_ROOT/conf/prometheus/ferry.rules.yml

metrics() { # FILE: /metrics, fetched inside Ferry's namespace
	nsx "$NS_F" "${MET[@]}" fetch "http://$EXPORTER/metrics" --out "$1"
}
promq() { # EXPR: its single value, through Prometheus's HTTP API
	nsx "$NS_F" "${MET[@]}" query "http://$PROM" "$1"
}
firing() { # ALERTNAME LABEL=VALUE...
	nsx "$NS_F" "${MET[@]}" alert "http://$PROM" "$@"
}
val() { "${MET[@]}" value "$@"; }   # FILE SERIES
msum() { "${MET[@]}" sum "$@"; }    # FILE NAME LABEL=VALUE...
# The engine's per-core family and label, its engine_info labels.
if [ "$LAB_ENGINE" = dpdk ]; then
	PERCORE=ferry_lcore_packets_total
	PERCORE_LABEL=lcore
	OTHER_PERCORE=ferry_cpu_packets_total
	ENGINE_IF=$LAB_TAP
else
	PERCORE=ferry_cpu_packets_total
	PERCORE_LABEL=cpu
	OTHER_PERCORE=ferry_lcore_packets_total
	ENGINE_IF=eth0
fi
DPDK_COUNTERS=(realigned linearized tx_dropped pass_freed exception_tx_dropped exception_rx)

# ---- Prometheus in Ferry's namespace: scrape every second, our rules with
# every `for:` cut to 1 s so alerts fire within the test.
sed -E 's/^( *for:).*/\1 1s/' "$RULES" >"$PROM_DIR/ferry.rules.yml"
cat >"$PROM_DIR/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $PROM_DIR/ferry.rules.yml
scrape_configs:
  - job_name: ferry
    static_configs:
      - targets: ["$EXPORTER"]
EOF
lab_bg "$NS_F" prometheus.out prometheus --config.file="$PROM_DIR/prometheus.yml" \
	--storage.tsdb.path="$PROM_DIR/data" --storage.tsdb.retention.time=1h \
	--web.listen-address=$PROM --log.level=warn
PROM_PID=${LAB_PIDS[-1]}
prom_scraping() { [ "$(promq 'up{job="ferry"}')" = 1 ]; }
wait_for 30 "Prometheus up and scraping ferryd" prom_scraping ||
	fail "Prometheus does not scrape ferryd: $(tail -n 5 "$LAB_LOGS/prometheus.out" | tr '\n' ' ')"
lab_log "prometheus (pid $PROM_PID) scrapes ferryd every second"

# ---- traffic: a known number of TCP connections and UDP datagrams --------
clients() { lab_clients "$RES" "$@"; }
lab_log "TCP: $((TCP_CONNS * LAB_NCLIENTS)) connections x $TCP_MSGS lines; UDP: $((UDP_FLOWS * LAB_NCLIENTS)) flows x $UDP_COUNT datagrams"
metrics "$RES/before.txt"
[ "$LAB_ENGINE" = xdp ] || lab_dpdk_info >"$RES/info-before.json" || fail "ferry-dpdk's INFO failed"
clients tcp tcp --host $VIP --port $VIP_TCP_PORT --conns $TCP_CONNS --msgs $TCP_MSGS \
	--concurrency 10 --timeout 3 --deadline 30
# Fixed source ports: an ephemeral port handed out twice would make two
# "flows" one 5-tuple, and one new flow fewer than flows sent.
clients udp udp --host $VIP --port $VIP_UDP_PORT --flows $UDP_FLOWS --count $UDP_COUNT \
	--sport $UDP_SPORT --timeout 1 --retries 2 --deadline 20

# ferryctl stats --watch while TCP lines flow (about 2 s of traffic)
nsx "${NS_C[0]}" timeout 20 "$PYTHON" "$LAB_DIR/lbclient.py" tcp --host $VIP \
	--port $VIP_TCP_PORT --conns 4 --msgs 40 --gap 0.05 --concurrency 4 \
	--timeout 3 --deadline 15 >"$RES/watchload.json" 2>>"$LAB_LOGS/client-watch.err" &
WATCHLOAD=$!
sleep 0.3
lab_ctl stats --watch 0.5 --count 3 >"$RES/watch.txt" 2>&1 || true
wait "$WATCHLOAD" || true
sleep 1 # the last ACKs and FINs

if [ "$LAB_ENGINE" = dpdk ]; then # INFO, /metrics, INFO: the ports' counters bracket the page's
	lab_dpdk_info >"$RES/info-0.json" || fail "ferry-dpdk's INFO failed"
	metrics "$RES/after.txt"
	lab_dpdk_info >"$RES/info-1.json" || fail "ferry-dpdk's INFO failed"
	lab_ctl --json stats >"$RES/stats.json" || fail "ferryctl --json stats failed"
else
	metrics "$RES/after.txt"
fi
sent_tcp=$((TCP_CONNS * LAB_NCLIENTS))
sent_udp=$((UDP_FLOWS * LAB_NCLIENTS * UDP_COUNT))

# What each backend received: decap count, udp datagrams logged.
declare -A DECAP UDPLOG
for i in $(seq 1 $LAB_NBACKENDS); do
	b=$(backend_name "$i")
	DECAP[$b]=$("${MET[@]}" decap "${NS_B[$((i - 1))]}") || fail "cannot read decap_stats in ${NS_B[$((i - 1))]}"
	UDPLOG[$b]=$(grep -c '^udp ' "$LAB_LOGS/$b.log" || true)
done

# ---- checks on /metrics ------------------------------------------------
promtool_ok() {
	local out
	out=$(promtool check metrics <"$RES/after.txt" 2>&1) || { echo "$out"; return 1; }
	[ -z "$out" ] || { echo "lint: $out"; return 1; }
	echo "no problems in $(grep -vc '^#' "$RES/after.txt") samples"
}

families_ok() {
	local f missing=() want=(
		ferry_vip_packets_total:counter ferry_vip_bytes_total:counter
		ferry_vip_new_flows_total:counter ferry_backend_packets_total:counter
		ferry_backend_bytes_total:counter ferry_backend_state:gauge
		ferry_backend_up:gauge ferry_health_checks_total:counter
		ferry_health_check_duration_seconds:gauge ferry_vip_backends_up:gauge
		ferry_vip_fail_open:gauge ferry_packets_total:counter
		ferry_drops_total:counter ferry_conntrack_events_total:counter
		ferry_flows_entries:gauge ferry_flows_capacity:gauge
		"$PERCORE:counter" ferry_config_generation:gauge
		ferry_reloads_total:counter ferry_engine_info:gauge ferry_up:gauge)
	if [ "$LAB_ENGINE" = dpdk ]; then
		for f in "${DPDK_COUNTERS[@]}"; do want+=("ferry_dpdk_${f}_total:counter"); done
	fi
	"${MET[@]}" families "$RES/after.txt" | tr ' ' : >"$RES/families.txt"
	for f in "${want[@]}"; do grep -qx "$f" "$RES/families.txt" || missing+=("$f"); done
	[ ${#missing[@]} -eq 0 ] || { echo "missing or mistyped: ${missing[*]}"; return 1; }
	# none of the other engine's: its per-core family; on XDP, ferry_dpdk_*
	local foreign="^$OTHER_PERCORE:"
	[ "$LAB_ENGINE" = dpdk ] || foreign+="|^ferry_dpdk_"
	if grep -qE "$foreign" "$RES/families.txt"; then
		echo "another engine's families: $(grep -E "$foreign" "$RES/families.txt" | paste -sd' ')"
		return 1
	fi
	echo "${#want[@]} families with HELP and TYPE; no $OTHER_PERCORE"
}

content_type_ok() {
	local ct
	ct=$(nsx "$NS_F" "$PYTHON" -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=5).headers["Content-Type"])' "http://$EXPORTER/metrics")
	echo "$ct"
	[ "$ct" = "text/plain; version=0.0.4; charset=utf-8" ]
}

# per backend: sum over VIPs == decapsulated there; UDP share == udp lines
backends_exact() {
	local i b ft fu rc=0 out=""
	for i in $(seq 1 $LAB_NBACKENDS); do
		b=$(backend_name "$i")
		ft=$(val "$RES/after.txt" "ferry_backend_packets_total{vip=\"lab-tcp\",backend=\"$b\"}")
		fu=$(val "$RES/after.txt" "ferry_backend_packets_total{vip=\"lab-udp\",backend=\"$b\"}")
		out+="$b: ferry tcp $ft + udp $fu, decap ${DECAP[$b]}, udp logged ${UDPLOG[$b]}; "
		[ $((ft + fu)) -eq "${DECAP[$b]}" ] && [ "$fu" -eq "${UDPLOG[$b]}" ] || rc=1
		[ "$ft" -gt 0 ] && [ "$fu" -gt 0 ] || rc=1
	done
	echo "$out"
	return $rc
}

vips_exact() {
	local b tcp=0 udp=0 vt vu
	for b in "${!DECAP[@]}"; do
		tcp=$((tcp + DECAP[$b] - UDPLOG[$b]))
		udp=$((udp + UDPLOG[$b]))
	done
	vt=$(val "$RES/after.txt" 'ferry_vip_packets_total{vip="lab-tcp"}')
	vu=$(val "$RES/after.txt" 'ferry_vip_packets_total{vip="lab-udp"}')
	echo "lab-tcp: ferry $vt, backends $tcp; lab-udp: ferry $vu, backends $udp (>= $sent_udp sent)"
	[ "$vt" -eq $tcp ] && [ "$vu" -eq $udp ] && [ "$udp" -ge $sent_udp ]
}

forward_is_sum() {
	local fwd all cpus be
	fwd=$(val "$RES/after.txt" 'ferry_packets_total{reason="forward"}')
	be=$(msum "$RES/after.txt" ferry_backend_packets_total)
	all=$(msum "$RES/after.txt" ferry_packets_total)
	cpus=$(msum "$RES/after.txt" "$PERCORE")
	echo "forward $fwd, backends $be, all reasons $all, per-$PERCORE_LABEL sum $cpus"
	[ "$fwd" -eq "$be" ] && [ "$all" -eq "$cpus" ]
}

drops_are_drop_reasons() {
	local got
	got=$(grep '^ferry_drops_total{' "$RES/after.txt" | sed 's/.*reason="\([^"]*\)".*/\1/' | paste -sd,)
	echo "drops: $got"
	[ "$got" = "truncated,bad_ip,ipv6_ext,fragment,no_backend,pin_hold,too_big,encap_failed" ] &&
		[ "$(msum "$RES/after.txt" ferry_drops_total)" -eq 0 ]
}

flows_counted() {
	local d0 d1 ct0 ct1 nf0 nf1 nu0 nu1
	d0=$(val "$RES/before.txt" 'ferry_conntrack_events_total{event="ct_miss_tcp_syn"}')
	d1=$(val "$RES/after.txt" 'ferry_conntrack_events_total{event="ct_miss_tcp_syn"}')
	nf0=$(val "$RES/before.txt" 'ferry_vip_new_flows_total{vip="lab-tcp"}')
	nf1=$(val "$RES/after.txt" 'ferry_vip_new_flows_total{vip="lab-tcp"}')
	nu0=$(val "$RES/before.txt" 'ferry_vip_new_flows_total{vip="lab-udp"}')
	nu1=$(val "$RES/after.txt" 'ferry_vip_new_flows_total{vip="lab-udp"}')
	ct0=$(val "$RES/before.txt" 'ferry_conntrack_events_total{event="ct_hit"}')
	ct1=$(val "$RES/after.txt" 'ferry_conntrack_events_total{event="ct_hit"}')
	echo "SYN misses +$((d1 - d0)), tcp new flows +$((nf1 - nf0)), udp new flows +$((nu1 - nu0)), hits +$((ct1 - ct0)) for $sent_tcp+4 connections, $((UDP_FLOWS * LAB_NCLIENTS)) UDP flows"
	[ $((d1 - d0)) -ge $((sent_tcp + 4)) ] && [ $((nf1 - nf0)) -ge $((sent_tcp + 4)) ] &&
		[ $((nu1 - nu0)) -ge $((UDP_FLOWS * LAB_NCLIENTS)) ] && [ $((ct1 - ct0)) -gt 0 ]
}

conntrack_gauges() {
	local e c ncpu want
	metrics "$RES/flows.txt" || return 1
	e=$(val "$RES/flows.txt" ferry_flows_entries)
	c=$(val "$RES/flows.txt" ferry_flows_capacity)
	if [ "$LAB_ENGINE" = dpdk ]; then
		# dataplane.flows (default 262144, a power of two) per forwarding
		# lcore; entries: ferry-dpdk's estimate from a window of buckets
		ncpu=$(lab_dpdk_workers | wc -l)
		want=$((262144 * ncpu))
		echo "entries $e, capacity $c (expected $want: $ncpu forwarding lcores)"
		[ "$c" -eq $want ] && [ "$e" -ge $((UDP_FLOWS * LAB_NCLIENTS)) ] && [ "$e" -le "$c" ]
		return
	fi
	ncpu=$("$PYTHON" -c 'import os
n = 0
for r in open("/sys/devices/system/cpu/possible").read().strip().split(","):
    a, _, b = r.partition("-")
    n += int(b or a) - int(a) + 1
print(n)')
	want=$((262144 * ncpu)) # default flows: 65536 buckets x 4 ways per CPU
	echo "entries $e, capacity $c (expected $want: $ncpu CPUs)"
	[ "$c" -eq $want ] && [ "$e" -ge $((UDP_FLOWS * LAB_NCLIENTS)) ] && [ "$e" -le "$c" ]
}

health_families() {
	local ok up dur
	ok=$(msum "$RES/after.txt" ferry_health_checks_total result=ok)
	up=$(msum "$RES/after.txt" ferry_vip_backends_up)
	dur=$(grep -c '^ferry_health_check_duration_seconds{' "$RES/after.txt" || true)
	echo "probes ok $ok, backends up $up, durations $dur"
	[ "$ok" -gt 0 ] && [ "$up" -eq $((2 * LAB_NBACKENDS)) ] && [ "$dur" -eq $((2 * LAB_NBACKENDS)) ] &&
		[ "$(msum "$RES/after.txt" ferry_backend_state state=active)" -eq $((2 * LAB_NBACKENDS)) ]
}

info_families() {
	local gen
	gen=$(lab_ctl --json status | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["generation"])')
	echo "ferryctl generation $gen; $(grep -E '^ferry_(config_generation|engine_info|up)[ {]' "$RES/after.txt" | paste -sd' ')"
	[ "$(val "$RES/after.txt" ferry_config_generation)" -eq "$gen" ] &&
		[ "$(val "$RES/after.txt" "ferry_engine_info{engine=\"$LAB_ENGINE\",interface=\"$ENGINE_IF\"}")" -eq 1 ] &&
		[ "$(val "$RES/after.txt" ferry_up)" -eq 1 ]
}

watch_rates() {
	local rows
	rows=$(awk '$1 == "lab-tcp" && $2 ~ /^[0-9.]+[kMGTP]?$/ && $2 + 0 > 0' "$RES/watch.txt" | wc -l)
	echo "$(grep -c '^---' "$RES/watch.txt" || true) samples, $rows with lab-tcp PKT/S > 0"
	[ "$rows" -ge 1 ]
}

# ---- DPDK: the lcores and ferry-dpdk's own counters --------------------------
# lcores_ok: one ferry_lcore_packets_total series per forwarding lcore
# (their EAL ids), each > 0 here (one worker); ferryctl --json stats says
# the same (cpu_label lcore, cpu_ids, cpus), and INFO's nlcores agrees.
lcores_ok() {
	local want got ids n
	want=$(lab_dpdk_workers | paste -sd,)
	got=$(grep '^ferry_lcore_packets_total{' "$RES/after.txt" |
		sed 's/.*lcore="\([^"]*\)".*/\1/' | sort -n | paste -sd,)
	ids=$("$PYTHON" -c 'import json, sys
j = json.load(open(sys.argv[1]))
print(j.get("cpu_label"), ",".join(map(str, j.get("cpu_ids", []))),
      ",".join(map(str, j.get("cpus", []))))' "$RES/stats.json")
	n=$("$PYTHON" "$LAB_DIR/lbcheck.py" field nlcores <"$RES/info-1.json")
	echo "lcores on /metrics: $got (expected $want); ferryctl stats label, ids, packets: $ids; INFO nlcores $n"
	[ -n "$want" ] && [ "$got" = "$want" ] && [ "${ids%% *}" = lcore ] &&
		[ "$(echo "$ids" | cut -d' ' -f2)" = "$want" ] && [ "$n" -eq "$(lab_dpdk_workers | wc -l)" ] &&
		! grep '^ferry_lcore_packets_total{' "$RES/after.txt" | grep -q ' 0$'
}
# info: FIELD of ferry-dpdk's INFO in FILE (e.g. ports[port=0].ipackets)
info() { "$PYTHON" "$LAB_DIR/lbcheck.py" field "$2" <"$1"; }
# between NAME LO X HI: LO <= X <= HI, described
between() {
	printf '%s %s in [%s, %s]; ' "$1" "$3" "$2" "$4"
	[ "$2" -le "$3" ] && [ "$3" -le "$4" ]
}
# dpdk_counters_ok: ferry-dpdk's counters against its ports (INFO before
# and after the page) and the traffic: the data port's frames in = the
# per-lcore sum = the reasons' sum = realigned; out = forward + exception
# rx; the exception port's in = exception_rx, out = the pass reasons;
# nothing dropped, freed or linearized.
dpdk_counters_ok() {
	local a=$RES/after.txt i0=$RES/info-0.json i1=$RES/info-1.json rc=0 f
	local lc fwd exrx pass re
	lc=$(msum "$a" ferry_lcore_packets_total)
	fwd=$(val "$a" 'ferry_packets_total{reason="forward"}')
	pass=$(($(val "$a" 'ferry_packets_total{reason="pass_non_ip"}') + $(val "$a" 'ferry_packets_total{reason="pass_not_vip"}')))
	exrx=$(val "$a" ferry_dpdk_exception_rx_total)
	re=$(val "$a" ferry_dpdk_realigned_total)
	between "data port in: lcores" "$(info "$i0" 'ports[port=0].ipackets')" "$lc" \
		"$(info "$i1" 'ports[port=0].ipackets')" || rc=1
	between "data port out: forward + exception_rx" "$(info "$i0" 'ports[port=0].opackets')" \
		$((fwd + exrx)) "$(info "$i1" 'ports[port=0].opackets')" || rc=1
	between "exception port in: exception_rx" "$(info "$i0" 'ports[port=1].ipackets')" "$exrx" \
		"$(info "$i1" 'ports[port=1].ipackets')" || rc=1
	between "exception port out: pass_non_ip + pass_not_vip" "$(info "$i0" 'ports[port=1].opackets')" \
		"$pass" "$(info "$i1" 'ports[port=1].opackets')" || rc=1
	printf 'realigned %s of %s frames; ' "$re" "$lc"
	[ "$re" -eq "$lc" ] || rc=1
	for f in linearized tx_dropped pass_freed exception_tx_dropped; do
		printf '%s %s; ' "$f" "$(val "$a" "ferry_dpdk_${f}_total")"
		[ "$(val "$a" "ferry_dpdk_${f}_total")" -eq 0 ] || rc=1
	done
	echo
	return $rc
}
# exception_rx_grows: the kernel's own frames (health probes: a SYN, then
# an ACK or RST, each) went out through the exception port: exception_rx
# grew by at least one frame per probe made meanwhile (less one in flight
# per probed backend and VIP).
exception_rx_grows() {
	local x0 x1 h0 h1
	x0=$(val "$RES/before.txt" ferry_dpdk_exception_rx_total)
	x1=$(val "$RES/after.txt" ferry_dpdk_exception_rx_total)
	h0=$(msum "$RES/before.txt" ferry_health_checks_total)
	h1=$(msum "$RES/after.txt" ferry_health_checks_total)
	echo "exception_rx $x0 -> $x1 (+$((x1 - x0))) while ferryd made $((h1 - h0)) health probes"
	[ $((h1 - h0)) -gt 0 ] && [ $((x1 - x0)) -ge $((h1 - h0 - 2 * LAB_NBACKENDS)) ] && [ "$x1" -gt "$x0" ]
}

echo "== $LAB_PREFIX: results"
check "client traffic: every TCP connection and UDP flow answered" \
	"${CHECK[@]}" complete --min $((sent_tcp + UDP_FLOWS * LAB_NCLIENTS)) "$RES"/tcp-c*.json "$RES"/udp-c*.json
check "/metrics: promtool check metrics passes" promtool_ok
check "/metrics: Content-Type text/plain; version=0.0.4" content_type_ok
check "/metrics: every family present with its type" families_ok
check "/metrics: per backend, packets == what its decap program decapsulated (UDP == datagrams logged)" backends_exact
check "/metrics: per VIP, packets == what the backends received" vips_exact
check "/metrics: forward == sum of backends; reasons sum == per-$PERCORE_LABEL sum" forward_is_sum
if [ "$LAB_ENGINE" = dpdk ]; then
	check "/metrics: ferry_lcore_packets_total per forwarding lcore (EAL ids), as ferryctl stats and INFO say" lcores_ok
	check "/metrics: ferry-dpdk's own counters agree with its ports and the traffic" dpdk_counters_ok
	check "/metrics: ferry_dpdk_exception_rx_total grows with the kernel's health probes" exception_rx_grows
fi
check "/metrics: ferry_drops_total lists the drop reasons only, all 0" drops_are_drop_reasons
check "/metrics: SYN misses and new flows cover the connections and UDP flows" flows_counted
check "/metrics: health, state and up families" health_families
check "/metrics: generation, engine info, up" info_families
check "ferryctl stats --watch: per-second rates of a live ferryd" watch_rates

# ---- PromQL: two scrape intervals after the traffic stopped ---------------
sleep 2.5
prom_exact() {
	local total=0 b q qt qu tcp=0 udp=0
	for b in "${!DECAP[@]}"; do
		total=$((total + DECAP[$b]))
		tcp=$((tcp + DECAP[$b] - UDPLOG[$b]))
		udp=$((udp + UDPLOG[$b]))
	done
	q=$(promq 'sum(ferry_vip_packets_total)') || return 1
	qt=$(promq 'sum(ferry_vip_packets_total{vip="lab-tcp"})') || return 1
	qu=$(promq 'sum(ferry_backend_packets_total{vip="lab-udp"})') || return 1
	echo "PromQL sum $q (backends $total), lab-tcp $qt ($tcp), lab-udp by backends $qu ($udp)"
	[ "$q" -eq $total ] && [ "$qt" -eq $tcp ] && [ "$qu" -eq $udp ]
}
check "PromQL: sum(ferry_vip_packets_total) and per VIP == what the backends received" prom_exact
# the gauges as they settle (ferry-dpdk's entries: an estimate from another
# window of buckets at every read): the first reading that passes, 10 s at most
conntrack_gauges_retry() {
	local out i
	for i in $(seq 50); do
		out=$(conntrack_gauges 2>&1) && { echo "$out"; return 0; }
		sleep 0.2
	done
	echo "$out"
	return 1
}
check "/metrics: conntrack entries and capacity" conntrack_gauges_retry

# ---- alerting rules --------------------------------------------------------
check "promtool check rules conf/prometheus/ferry.rules.yml" promtool check rules "$RULES"

lab_log "stopping $VNAME's service"
lab_stop_backend $VICTIM
alert_down() {
	wait_for 20 "FerryBackendDown firing for $VNAME" firing FerryBackendDown backend="$VNAME" vip=lab-tcp ||
		{ firing FerryBackendDown backend="$VNAME" vip=lab-tcp; return 1; }
	firing FerryBackendDown backend="$VNAME" vip=lab-udp
}
check "alert: FerryBackendDown fires for $VNAME (health checks fail)" alert_down
backend_down_metrics() {
	metrics "$RES/down.txt" || return 1
	local st up vup
	st=$(val "$RES/down.txt" "ferry_backend_state{vip=\"lab-tcp\",backend=\"$VNAME\",state=\"down\"}")
	up=$(val "$RES/down.txt" "ferry_backend_up{vip=\"lab-tcp\",backend=\"$VNAME\"}")
	vup=$(val "$RES/down.txt" 'ferry_vip_backends_up{vip="lab-tcp"}')
	echo "state down $st, up $up, VIP backends up $vup, failed probes $(val "$RES/down.txt" "ferry_health_checks_total{vip=\"lab-tcp\",backend=\"$VNAME\",result=\"failed\"}")"
	[ "$st" -eq 1 ] && [ "$up" -eq 0 ] && [ "$vup" -eq $((LAB_NBACKENDS - 1)) ]
}
check "/metrics: $VNAME down: state, up, VIP backends up" backend_down_metrics
no_false_alerts() {
	local q
	q=$(promq 'count(ALERTS{alertstate="firing",alertname!="FerryBackendDown"}) or vector(0)')
	echo "other alerts firing: $q"
	[ "$q" -eq 0 ]
}
check "alert: no other alert fires" no_false_alerts

lab_log "a reload of a broken file"
cp "$LAB_CONF" "$LAB_RUN/good.conf"
lab_at_teardown "cp '$LAB_RUN/good.conf' '$LAB_CONF'"
echo 'this is not libconfig' >>"$LAB_CONF"
lab_ctl reload >"$RES/reload.txt" 2>&1 && fail "ferryd accepted a broken configuration"
cp "$LAB_RUN/good.conf" "$LAB_CONF"
reload_failed() {
	wait_for 20 "FerryReloadFailed firing" firing FerryReloadFailed || { firing FerryReloadFailed; return 1; }
	metrics "$RES/reload.txt" || return 1
	[ "$(val "$RES/reload.txt" 'ferry_reloads_total{result="failed"}')" -eq 1 ] &&
		[ "$(val "$RES/reload.txt" 'ferry_reloads_total{result="ok"}')" -eq 0 ] &&
		echo "ferry_reloads_total{result=\"failed\"} 1"
}
check "alert: FerryReloadFailed fires; ferry_reloads_total{result=\"failed\"} == 1" reload_failed

# ---- the exporter's port taken: ferryd refuses to start ------------------
lab_log "ferryd with exporter.listen on Prometheus's port $PROM"
lab_stop_ferryd
{ cat "$LAB_CONF"; echo "exporter = { listen = \"$PROM\"; };"; } >"$LAB_RUN/taken.conf"
bind_fails() {
	local out rc=0
	out=$(timeout 20 ip netns exec "$NS_F" "$FERRYD" -c "$LAB_RUN/taken.conf" 2>&1 </dev/null) || rc=$?
	printf '%s\n' "$out" >>"$LAB_FERRYD_LOG"
	echo "exit $rc: $(printf '%s' "$out" | grep -i exporter | tail -n 1)"
	[ $rc -eq 1 ] && printf '%s' "$out" | grep -q "cannot serve /metrics on $PROM: Address already in use"
}
check "ferryd: a taken exporter port is a startup error naming it" bind_fails

lab_summary
