#!/usr/bin/env bash
# tests/dpdk/test_ferryd_dpdk.sh: ferryd driving a real ferry-dpdk (engine = "dpdk", net_null ports) over its control socket: push, counters, ferryd kill -9 and adoption, ferry-dpdk restart and re-push, reloads good and bad, --detach. Exit 77 (skip) when the EAL cannot start.
#
# usage: test_ferryd_dpdk.sh FERRY_DPDK FERRYD FERRYCTL
set -euo pipefail

FERRY_DPDK=$1
FERRYD=$2
FERRYCTL=$3
dir=$(mktemp -d /tmp/ferryd-dpdk-test.XXXXXX)
prefix=ftd$$
PORT=$((20000 + $$ % 20000))
DP_PID=
FD_PID=
PASS=0
FAIL=0

cleanup() {
	[ -n "$FD_PID" ] && kill -9 "$FD_PID" 2>/dev/null
	[ -n "$DP_PID" ] && kill -9 "$DP_PID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$dir" "/var/run/dpdk/$prefix"
}
trap cleanup EXIT

ok() { echo "ok: $*"; PASS=$((PASS + 1)); }
bad() { echo "FAIL: $*"; FAIL=$((FAIL + 1)); }
check() { # DESCRIPTION CMD...
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}
# wait_for SECONDS CMD...: until CMD succeeds
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@" 2>/dev/null; do
		[ $SECONDS -lt "$end" ] || return 1
		sleep 0.1
	done
}

# The config; $1: extra VIP text (reload tests).
write_conf() {
	cat >"$dir/ferry.conf.new" <<EOF
dataplane = {
  engine = "dpdk";
  interface = "lo";
  next_hop_mac = "02:00:00:00:00:01";
  encap_source_v4 = "192.0.2.2";
  flows = 4096;
  dpdk = {
    eal = [ "-l", "0-1", "--no-pci", "--no-huge", "-m", "256",
            "--file-prefix", "$prefix", "--log-level", "lib.*:warning",
            "--vdev", "net_null0", "--vdev", "net_null1" ];
    exception_port = 1;
    control = "$dir/dpdk.sock";
    tables = "$dir/tables.snap";
    idle_sleep_us = 200;
  };
};
control = { socket = "$dir/ferryd.sock"; };
exporter = { listen = "127.0.0.1:$PORT"; };
nodes = (
  { name = "b1"; address = "10.99.0.11"; },
  { name = "b2"; address = "10.99.0.12"; },
  { name = "b3"; address = "10.99.0.13"; }
);
vips = (
  { name = "tcp"; address = "10.99.1.1"; port = 80; protocol = "tcp";
    health = { type = "none"; };
    backends = ( { node = "b1"; }, { node = "b2"; } ); }$1
);
EOF
	mv "$dir/ferry.conf.new" "$dir/ferry.conf"
}

start_dpdk() {
	"$FERRY_DPDK" --config "$dir/ferry.conf" >>"$dir/dpdk.log" 2>&1 &
	DP_PID=$!
	if ! wait_for 20 test -S "$dir/dpdk.sock" || ! kill -0 "$DP_PID" 2>/dev/null; then
		cat "$dir/dpdk.log"
		if grep -q 'rte_eal_init\|EAL: ' "$dir/dpdk.log"; then
			echo "SKIP: ferry-dpdk cannot start its EAL here"
			exit 77
		fi
		echo "FAIL: ferry-dpdk did not start"
		exit 1
	fi
}

start_ferryd() {
	"$FERRYD" -c "$dir/ferry.conf" >>"$dir/ferryd.log" 2>&1 &
	FD_PID=$!
	wait_for 15 "$FERRYCTL" -s "$dir/ferryd.sock" status >/dev/null
}

ctl() { "$FERRYCTL" -s "$dir/ferryd.sock" "$@"; }
# The generation ferry-dpdk serves, as ferryd --stats reads it from there.
dpdk_generation() {
	"$FERRYD" -c "$dir/ferry.conf" --stats 2>/dev/null |
		awk '/^generation/ {sub(",", "", $2); print $2; exit}'
}
gen_is() { test "$(dpdk_generation)" = "$1"; }
ferryd_generation() { ctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])'; }
log_has() { grep -q -- "$2" "$dir/$1"; }

write_conf ""
start_dpdk
check "ferry-dpdk starts with no tables: generation 0" \
	gen_is 0
start_ferryd || { cat "$dir/ferryd.log"; bad "ferryd starts"; exit 1; }
check "ferryd says engine dpdk" sh -c "'$FERRYCTL' -s '$dir/ferryd.sock' status | grep -q dpdk"
check "ferry-dpdk serves generation 1 from ferryd" \
	wait_for 5 gen_is 1
check "ferry-dpdk keeps the live generation in its tables file" test -s "$dir/tables.snap"
check "ferryctl status says forwarding" sh -c "'$FERRYCTL' -s '$dir/ferryd.sock' status | grep -q '^forwarding  yes'"
check "ferryd --stats reads per-lcore counters" \
	sh -c "'$FERRYD' -c '$dir/ferry.conf' --stats | grep -q '^lcores: 1='"
check "ferryctl stats carries the DPDK counters" \
	sh -c "'$FERRYCTL' -s '$dir/ferryd.sock' --json stats | grep -q dpdk_tx_dropped"
ctl stats >"$dir/stats.txt"
check "ferryctl stats names lcores by EAL id" grep -qE '^ *1 +[0-9]+$' "$dir/stats.txt"
check "ferryctl stats shows the engine's own counters" grep -q '^dpdk_exception_rx ' "$dir/stats.txt"
check "ferryctl stats heads the lcore table LCORE" grep -q '^LCORE' "$dir/stats.txt"
check "ferryctl stats lists the ports" grep -qE '^ *0 +data +up ' "$dir/stats.txt"

sleep 1.5 # a tick: ferryd checks ferry-dpdk every second
check "a fresh ferryd pushes its generation once" sh -c "! grep -q 'pushed again' '$dir/ferryd.log'"
curl -sf "http://127.0.0.1:$PORT/metrics" >"$dir/metrics" || bad "GET /metrics"
check "metrics carry per-lcore packets" grep -q '^ferry_lcore_packets_total{lcore="1"}' "$dir/metrics"
check "metrics carry ferry-dpdk's own counters" grep -q '^ferry_dpdk_exception_tx_dropped_total ' "$dir/metrics"
check "metrics say engine dpdk" grep -q 'ferry_engine_info{engine="dpdk"' "$dir/metrics"
check "metrics carry the data port's link" grep -q '^ferry_dpdk_port_up{port="0",role="data"} 1' "$dir/metrics"
check "metrics carry the exception port" grep -q '^ferry_dpdk_port_up{port="1",role="exception"} ' "$dir/metrics"
# net_null0 receives a burst of frames at every poll: its RX count moves.
check "metrics carry the data port's RX count" \
	awk '/^ferry_dpdk_port_rx_packets_total\{port="0",role="data"\}/ {ok = $2 > 0} END {exit !ok}' "$dir/metrics"
check "metrics carry RX missed (drops at the port)" grep -q '^ferry_dpdk_port_rx_missed_total{port="0",role="data"} ' "$dir/metrics"
if command -v promtool >/dev/null; then
	check "promtool accepts the metrics" sh -c "promtool check metrics <'$dir/metrics' >/dev/null 2>&1"
fi

# ferryd killed: ferry-dpdk serves on; the next ferryd adopts generation 1.
loads_before=$(grep -c 'generation 1 live' "$dir/dpdk.log" || true)
kill -9 "$FD_PID"
wait "$FD_PID" 2>/dev/null || true
FD_PID=
check "ferryd killed: ferry-dpdk still serves generation 1" gen_is 1
start_ferryd || bad "ferryd restarts"
check "the restarted ferryd adopted the running tables" log_has ferryd.log "adopted"
check "and serves the same generation" test "$(ferryd_generation)" = 1
check "adoption did not load the same tables again" \
	test "$(grep -c 'generation 1 live' "$dir/dpdk.log" || true)" = "$loads_before"

# A reload: one more VIP, generation 2 at ferry-dpdk.
write_conf ",
  { name = \"udp\"; address = \"10.99.1.2\"; port = 53; protocol = \"udp\";
    health = { type = \"none\"; }; backends = ( { node = \"b3\"; } ); }"
ctl reload >/dev/null || bad "ferryctl reload"
check "a reload reaches ferry-dpdk as generation 2" wait_for 5 gen_is 2
# A bad reload is refused; generation 2 keeps serving.
cp "$dir/ferry.conf" "$dir/good.conf"
sed -i 's/port = 53;/port = 99999;/' "$dir/ferry.conf"
if ctl reload >/dev/null 2>&1; then bad "a bad config is refused"; else ok "a bad config is refused"; fi
mv "$dir/good.conf" "$dir/ferry.conf" # ferryd --stats reads the config too
check "generation 2 keeps serving" gen_is 2

# ferry-dpdk restarted: it serves generation 2 from its file, and ferryd
# notices the new process and pushes its generation again.
kill -9 "$DP_PID"
wait "$DP_PID" 2>/dev/null || true
DP_PID=
check "ferryctl status says why nothing forwards while ferry-dpdk is gone" \
	sh -c "'$FERRYCTL' -s '$dir/ferryd.sock' status | grep -q '^forwarding  no: ferry-dpdk does not answer'"
start_dpdk
check "restarted ferry-dpdk serves generation 2 from its tables file" \
	wait_for 5 gen_is 2
check "ferryd pushed its generation to the new ferry-dpdk" \
	wait_for 5 log_has ferryd.log "pushed again"

# ferryd stopped, then --detach: ferry-dpdk forgets its tables.
kill "$FD_PID"
wait "$FD_PID" 2>/dev/null || true
FD_PID=
check "ferryd stopped: ferry-dpdk still serves" gen_is 2
"$FERRYD" -c "$dir/ferry.conf" --detach >>"$dir/ferryd.log" 2>&1 || bad "ferryd --detach"
check "after --detach ferry-dpdk serves nothing" gen_is 0
check "and its tables file is gone" test ! -e "$dir/tables.snap"

echo "--- ferryd.log"
cat "$dir/ferryd.log"
echo "--- ferry-dpdk log"
cat "$dir/dpdk.log"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
