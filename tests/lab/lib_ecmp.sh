# shellcheck shell=bash
# tests/lab/lib_ecmp.sh: the scale-out lab: two Ferry machines behind a BIRD 2 router doing ECMP over BGP, each with its own ferryd (XDP), bpffs, control socket and BIRD. Sourced after lib.sh, not run.
#
# Topology (IPv4), names with the per-run prefix $LAB_PREFIX:
#
#   C1..C3 (10.77.1.1x) --[brc 10.77.1.1]-- R --[f1 10.77.2.1]==[eth0 10.77.2.2] F1 (ferryd, XDP, BIRD)
#                                           |  --[f2 10.77.4.1]==[eth0 10.77.4.2] F2 (ferryd, XDP, BIRD)
#                                           |
#                                  [brb 10.77.3.1] -- B1..B3 (10.77.3.1x, both VIPs on lo, decap XDP)
#
# R runs BIRD with a BGP session (and BFD) to each Ferry machine and
# installs each VIP as one multipath route (merge paths), hashed by
# 5-tuple (fib_multipath_hash_policy = 1). Each ferryd keeps its announced
# VIPs in kernel table 100 (announce = { table = 100; }); its BIRD learns
# that table and exports it. Two VIPs on two addresses, so one can be
# withdrawn while the other stays:
#   ecmp-a  $VIP_A:$VIP_A_PORT  tcp, probed on its port (lbserver, lib.sh)
#   ecmp-b  $VIP_B:$VIP_B_PORT  tcp, probed on its port: a second lbserver
#           per backend, which a test stops to take every ecmp-b backend down
#
# Environment (besides lib.sh's): ECMP_HEALTH, the health settings of both
# VIPs (default below).

ECMP_NF=2
NS_FN=("$LAB_PREFIX-f1" "$LAB_PREFIX-f2") # Ferry machine n is NS_FN[n-1]
VIP_A=$VIP
VIP_A_PORT=$VIP_TCP_PORT
VIP_B=10.77.100.2
VIP_B_PORT=8081
ECMP_TABLE=100
ECMP_AS_ROUTER=65000
ECMP_AS_FERRY=65001
ECMP_HEALTH=${ECMP_HEALTH:-"interval = 500; timeout = 200; rise = 2; fall = 2;"}

ECMP_FERRYD_PID=()  # by n (1-based)
declare -A ECMP_BIRD_PID # by name: r, f1, f2
ECMP_B_PID=()       # backend i's ecmp-b server

ferry_addr_n() { echo "10.77.$((2 * $1)).2"; }   # Ferry n's address
router_addr_n() { echo "10.77.$((2 * $1)).1"; }  # the router's address towards Ferry n
router_mac_n() { printf '02:77:%02x:00:00:01' $((2 * $1)); }
ferry_mac_n() { printf '02:77:%02x:00:00:02' $((2 * $1)); }
ecmp_bpffs() { echo "$LAB_RUN/bpf-f$1"; }
ecmp_conf() { echo "$LAB_RUN/ferry-f$1.conf"; }
ecmp_sock() { echo "$LAB_RUN/ctl-f$1/ferryd.sock"; }
ecmp_ferryd_log() { echo "$LAB_LOGS/ferryd-f$1.log"; }
ecmp_bird_sock() { echo "$LAB_RUN/bird-$1.ctl"; } # r, f1, f2

# ---- teardown ---------------------------------------------------------------
# ecmp_destroy PREFIX: the Ferry namespaces of PREFIX, their processes,
# pins and bpffs mounts (lab_destroy does the rest: router, clients,
# backends, the run directory).
ecmp_destroy() {
	local prefix=$1 n ns pids run=/run/ferry-lab-$1 conf
	for n in $(seq 1 "$ECMP_NF"); do
		ns=$prefix-f$n
		ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$ns" || continue
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		# shellcheck disable=SC2086
		[ -z "$pids" ] || lab_kill_pids $pids
		conf=$run/ferry-f$n.conf
		if [ -x "$FERRYD" ] && [ -f "$conf" ]; then
			timeout 15 ip netns exec "$ns" "$FERRYD" -c "$conf" --detach \
				>>"$run/logs/ferryd-f$n.log" 2>&1 || true
		fi
		ip -n "$ns" link set dev eth0 xdp off 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || lab_log "could not delete namespace $ns"
	done
	for n in $(seq 1 "$ECMP_NF"); do
		if mountpoint -q "$run/bpf-f$n" 2>/dev/null; then
			umount "$run/bpf-f$n" 2>/dev/null || umount -l "$run/bpf-f$n" ||
				lab_log "could not unmount $run/bpf-f$n"
		fi
	done
}

# ecmp_teardown: lab_teardown's hook: ferryd stopped (leaving the
# dataplane), then --detach; BIRD stopped; namespaces removed.
ecmp_teardown() {
	local n
	for n in $(seq 1 "$ECMP_NF"); do ecmp_stop_ferryd "$n"; done
	# lab_teardown shows the tail of this one on failure
	# shellcheck disable=SC2034 # read by lib.sh
	LAB_FERRYD_LOG=$(ecmp_ferryd_log 1)
	ecmp_destroy "$LAB_PREFIX"
}

# ---- topology ---------------------------------------------------------------
ecmp_require() {
	local t
	for t in bird birdc; do
		command -v "$t" >/dev/null 2>&1 ||
			fail "'$t' not found: run tests/deps.sh (Debian package bird2)"
	done
}

ecmp_up() {
	ecmp_destroy "$LAB_PREFIX"
	lab_destroy "$LAB_PREFIX" # leftovers of an earlier run with this prefix
	mkdir -p "$LAB_RUN" "$LAB_LOGS"
	# shellcheck disable=SC2034 # read by lib.sh
	LAB_UP=1
	lab_at_teardown ecmp_teardown
	local i n ns

	lab_ns_base "$NS_R"
	nsysctl "$NS_R" net.ipv4.ip_forward 1
	nsysctl "$NS_R" net.ipv4.fib_multipath_hash_policy 1
	# a next hop whose link is down is skipped at once (before BGP notices)
	nsysctl "$NS_R" net.ipv4.conf.all.ignore_routes_with_linkdown 1
	nsysctl "$NS_R" net.ipv4.conf.default.ignore_routes_with_linkdown 1
	ip -n "$NS_R" link add name brc type bridge
	ip -n "$NS_R" link add name brb type bridge
	ip -n "$NS_R" addr add 10.77.1.1/24 dev brc
	ip -n "$NS_R" addr add 10.77.3.1/24 dev brb

	for n in $(seq 1 "$ECMP_NF"); do ecmp_ferry_ns "$n"; done

	for i in $(seq 1 "$LAB_NCLIENTS"); do
		ns=${NS_C[$((i - 1))]}
		lab_ns_base "$ns"
		veth_into "$NS_R" "c$i" "$ns"
		ip -n "$NS_R" link set dev "c$i" master brc up
		ip -n "$ns" addr add "$(client_addr "$i")/24" dev eth0
		ip -n "$ns" link set dev eth0 up
		ip -n "$ns" route add default via 10.77.1.1
		# Checksum offload state does not survive XDP on the way.
		nsx "$ns" ethtool -K eth0 tx off >/dev/null 2>&1 ||
			fail "ethtool -K eth0 tx off failed in $ns"
	done

	for i in $(seq 1 "$LAB_NBACKENDS"); do
		lab_backend_ns "$i"
		ip -n "${NS_B[$((i - 1))]}" addr add $VIP_B/32 dev lo
	done
	ip -n "$NS_R" link set dev brb mtu "$LAB_MTU"
	ip -n "$NS_R" link set dev brc up
	ip -n "$NS_R" link set dev brb up

	wait_for 10 "router reaches every client, backend and Ferry machine" ecmp_ping_all ||
		fail "lab links do not come up (ping from the router)"
	lab_log "topology $LAB_PREFIX up: router, $ECMP_NF Ferry machines, $LAB_NCLIENTS clients, $LAB_NBACKENDS backends"
}

# ecmp_ferry_ns N: Ferry machine N, wired to the router's fN; its bpffs.
ecmp_ferry_ns() {
	local n=$1 ns=${NS_FN[$(($1 - 1))]} bpffs
	lab_ns_base "$ns"
	veth_into "$NS_R" "f$n" "$ns"
	ip -n "$NS_R" link set dev "f$n" address "$(router_mac_n "$n")" mtu "$LAB_MTU" up
	ip -n "$NS_R" addr add "$(router_addr_n "$n")/24" dev "f$n"
	nsysctl "$NS_R" "net.ipv4.conf.f$n.ignore_routes_with_linkdown" 1
	ip -n "$ns" link set dev eth0 address "$(ferry_mac_n "$n")" mtu "$LAB_MTU" up
	ip -n "$ns" addr add "$(ferry_addr_n "$n")/24" dev eth0
	ip -n "$ns" route add default via "$(router_addr_n "$n")"
	# XDP_TX from Fn's eth0 arrives at fn only if fn runs an XDP program.
	ip -n "$NS_R" link set dev "f$n" xdp obj "$FERRY_BUILD/bpf/pass.bpf.o" sec xdp ||
		fail "cannot attach pass.bpf.o to the router's f$n"
	# bpffs outside /sys (`ip netns exec` remounts /sys privately), one per
	# Ferry machine: each has its own pinned program, link and maps.
	bpffs=$(ecmp_bpffs "$n")
	mkdir -p "$bpffs"
	mount -t bpf bpf "$bpffs" || fail "cannot mount bpffs at $bpffs"
}

ecmp_ping_all() {
	local i n
	for n in $(seq 1 "$ECMP_NF"); do
		nsx "$NS_R" ping -c1 -W1 -q "$(ferry_addr_n "$n")" || return 1
	done
	for i in $(seq 1 "$LAB_NCLIENTS"); do
		nsx "$NS_R" ping -c1 -W1 -q "$(client_addr "$i")" || return 1
	done
	for i in $(seq 1 "$LAB_NBACKENDS"); do
		nsx "$NS_R" ping -c1 -W1 -q "$(backend_addr "$i")" || return 1
	done
}

# ---- servers ------------------------------------------------------------------
# ecmp_start_b_server I: backend I's ecmp-b server (tcp VIP_B_PORT on every
# address: the VIP and the node's own, where ecmp-b's probes go).
ecmp_start_b_server() {
	local i=$1 name
	name=$(backend_name "$i")
	rm -f "$LAB_RUN/$name-b.ready"
	lab_bg "${NS_B[$((i - 1))]}" "$name-b.out" "$PYTHON" "$LAB_DIR/lbserver.py" \
		--name "$name" --addr $VIP_B --tcp-addr 0.0.0.0 --tcp $VIP_B_PORT \
		--log "$LAB_LOGS/$name-b.log" --ready "$LAB_RUN/$name-b.ready"
	ECMP_B_PID[i]=${LAB_PIDS[-1]}
}

ecmp_stop_b_server() {
	lab_kill_pids "${ECMP_B_PID[$1]}"
	wait "${ECMP_B_PID[$1]}" 2>/dev/null || true
}

# ecmp_start_servers: both services on every backend, then wait.
ecmp_start_servers() {
	local i ready=()
	for i in $(seq 1 "$LAB_NBACKENDS"); do
		lab_start_backend "$i"
		ecmp_start_b_server "$i"
		ready+=("$LAB_RUN/$(backend_name "$i").ready" "$LAB_RUN/$(backend_name "$i")-b.ready")
	done
	wait_for 15 "backend servers listening" ls "${ready[@]}" ||
		fail "backend servers did not start: $(tail -n 5 "$LAB_LOGS"/*.out 2>/dev/null | tr '\n' ' ')"
}

# ---- ferryd -----------------------------------------------------------------------
ecmp_nodes() {
	local i
	for i in $(seq 1 "$LAB_NBACKENDS"); do
		printf '  { name = "%s"; address = "%s"; }%s\n' "$(backend_name "$i")" \
			"$(backend_addr "$i")" "$([ "$i" -lt "$LAB_NBACKENDS" ] && echo ,)"
	done
}

# ecmp_write_conf N: Ferry N's ferry.conf. Only the dataplane and control
# settings differ between machines; nodes and VIPs are the same, so the
# rings are.
ecmp_write_conf() {
	local n=$1 be
	be=$(lab_backends_list "")
	cat >"$(ecmp_conf "$n")" <<EOF
# ferry.conf of Ferry machine $n of the ECMP lab $LAB_PREFIX (tests/lab/lib_ecmp.sh)
dataplane = {
  interface = "eth0";
  xdp_mode = "native";
  bpffs = "$(ecmp_bpffs "$n")";
  next_hop_mac = "$(router_mac_n "$n")";
  encap_source_v4 = "$(ferry_addr_n "$n")";
  mtu = $LAB_MTU;
};

control = { socket = "$(ecmp_sock "$n")"; };

announce = { table = $ECMP_TABLE; min_healthy = 1; };

nodes = (
$(ecmp_nodes)
);

vips = (
  {
    name = "ecmp-a";
    address = "$VIP_A";
    port = $VIP_A_PORT;
    protocol = "tcp";
    health = { type = "tcp"; $ECMP_HEALTH };
    backends = (
$be
    );
  },
  {
    name = "ecmp-b";
    address = "$VIP_B";
    port = $VIP_B_PORT;
    protocol = "tcp";
    health = { type = "tcp"; $ECMP_HEALTH };
    backends = (
$be
    );
  }
);
EOF
}

ecmp_ferryd_alive() {
	local p=${ECMP_FERRYD_PID[$1]:-}
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null
}

# ecmp_start_ferryd N: ferryd on Ferry machine N, ready and attached.
ecmp_start_ferryd() {
	local n=$1 ns=${NS_FN[$(($1 - 1))]} conf log out mark
	lab_require_ferryd
	ecmp_write_conf "$n"
	conf=$(ecmp_conf "$n")
	log=$(ecmp_ferryd_log "$n")
	out=$(timeout 10 ip netns exec "$ns" "$FERRYD" -c "$conf" --check 2>&1) ||
		fail "ferryd --check rejects $conf: $out"
	touch "$log"
	mark=$(wc -l <"$log")
	ip netns exec "$ns" "$FERRYD" -c "$conf" </dev/null >>"$log" 2>&1 &
	ECMP_FERRYD_PID[n]=$!
	local end=$((SECONDS + 20))
	until tail -n "+$((mark + 1))" "$log" | grep -qw ready; do
		ecmp_ferryd_alive "$n" ||
			fail "ferryd on Ferry $n exited before ready: $(tail -n 5 "$log" | tr '\n' ' ')"
		[ $SECONDS -lt $end ] || fail "ferryd on Ferry $n not ready after 20s: $(tail -n 5 "$log" | tr '\n' ' ')"
		sleep 0.2
	done
	wait_for 5 "an XDP program on eth0 in $ns" xdp_attached "$ns" eth0 ||
		fail "ferryd on Ferry $n says ready but eth0 has no XDP program"
	lab_log "ferryd on Ferry $n ready (pid ${ECMP_FERRYD_PID[$n]})"
}

# ecmp_stop_ferryd N: SIGTERM (the dataplane, and its routes, stay).
ecmp_stop_ferryd() {
	ecmp_ferryd_alive "$1" || return 0
	lab_kill_pids "${ECMP_FERRYD_PID[$1]}"
	wait "${ECMP_FERRYD_PID[$1]}" 2>/dev/null || true
	ECMP_FERRYD_PID[$1]=
}

ecmp_detach() { # N: ferryd --detach on Ferry N
	timeout 15 ip netns exec "${NS_FN[$(($1 - 1))]}" "$FERRYD" -c "$(ecmp_conf "$1")" --detach
}

# ecmp_ctl N ARGS...: ferryctl on Ferry N's socket.
ecmp_ctl() {
	local n=$1
	shift
	timeout 15 "$FERRYCTL" -s "$(ecmp_sock "$n")" "$@"
}

# ecmp_field N PATH ARGS...: one value of `ferryctl --json ARGS` on Ferry N.
ecmp_field() {
	local n=$1 path=$2 out
	shift 2
	out=$(ecmp_ctl "$n" --json "$@") || return 1
	printf '%s\n' "$out" | "$PYTHON" "$LAB_DIR/lbcheck.py" field "$path"
}

# ecmp_table N: Ferry N's announce table (the routes its BIRD learns).
ecmp_table() { ip -n "${NS_FN[$(($1 - 1))]}" route show table $ECMP_TABLE; }

# ---- BIRD -------------------------------------------------------------------------
# Timers for a lab: sessions come back within a few seconds; BFD ends a
# session within 5 x 200 ms of silence.
ecmp_bird_timers() {
	cat <<EOF
	hold time 3;
	keepalive time 1;
	connect delay time 1;
	connect retry time 2;
	error wait time 1, 3;
	error forget time 5;
EOF
}

ecmp_bird_bfd() { # INTERFACE-PATTERN
	cat <<EOF
protocol bfd {
	interface "$1" {
		min rx interval 200 ms;
		min tx interval 200 ms;
		multiplier 5;
	};
}
EOF
}

# The router's BIRD: conf/bird/router.conf with the lab's addresses.
ecmp_write_bird_router() {
	local n
	{
		cat <<EOF
# BIRD of the ECMP lab's router (tests/lab/lib_ecmp.sh; see conf/bird/router.conf)
log "$LAB_LOGS/bird-r.log" all;
debug protocols { states };
router id $(router_addr_n 1);
protocol device { scan time 10; }
$(ecmp_bird_bfd "f*")
protocol kernel {
	merge paths on;
	ipv4 { import none; export where source = RTS_BGP; };
}
template bgp ferry {
	bfd on;
	check link on;
$(ecmp_bird_timers)
	ipv4 {
		import where net ~ [ 10.77.100.0/24{32,32} ];
		export none;
	};
}
EOF
		for n in $(seq 1 "$ECMP_NF"); do
			cat <<EOF
protocol bgp ferry$n from ferry {
	local $(router_addr_n "$n") as $ECMP_AS_ROUTER;
	neighbor $(ferry_addr_n "$n") as $ECMP_AS_FERRY;
}
EOF
		done
	} >"$LAB_RUN/bird-r.conf"
}

# Ferry N's BIRD: conf/bird/bird.conf with the lab's addresses.
ecmp_write_bird_ferry() {
	local n=$1
	cat >"$LAB_RUN/bird-f$n.conf" <<EOF
# BIRD of Ferry machine $n of the ECMP lab (tests/lab/lib_ecmp.sh; see conf/bird/bird.conf)
log "$LAB_LOGS/bird-f$n.log" all;
debug protocols { states };
router id $(ferry_addr_n "$n");
protocol device { scan time 10; }
$(ecmp_bird_bfd eth0)
ipv4 table vips4;
protocol kernel ferry_vips4 {
	kernel table $ECMP_TABLE;
	learn;
	scan time 2;
	ipv4 { table vips4; import all; export none; };
}
protocol bgp upstream {
	local $(ferry_addr_n "$n") as $ECMP_AS_FERRY;
	neighbor $(router_addr_n "$n") as $ECMP_AS_ROUTER;
	bfd on;
$(ecmp_bird_timers)
	ipv4 {
		table vips4;
		import none;
		export where net.len = 32;
		next hop self;
	};
}
EOF
}

# ecmp_start_bird NAME NS: BIRD in the foreground (its pid is ours).
ecmp_start_bird() {
	local name=$1 ns=$2 conf=$LAB_RUN/bird-$1.conf out
	out=$(bird -p -c "$conf" 2>&1) || fail "bird rejects $conf: $out"
	lab_bg "$ns" "bird-$name.out" bird -f -c "$conf" -s "$(ecmp_bird_sock "$name")" \
		-P "$LAB_RUN/bird-$name.pid"
	ECMP_BIRD_PID[$name]=${LAB_PIDS[-1]}
}

# ecmp_stop_bird NAME: stop BIRD NAME (a clean stop: its sessions close
# with a notification, so the peers withdraw at once).
ecmp_stop_bird() {
	local p=${ECMP_BIRD_PID[$1]:-}
	[ -n "$p" ] || return 0
	lab_kill_pids "$p"
	wait "$p" 2>/dev/null || true
	ECMP_BIRD_PID[$1]=
}

ecmp_start_birds() {
	local n
	ecmp_write_bird_router
	ecmp_start_bird r "$NS_R"
	for n in $(seq 1 "$ECMP_NF"); do
		ecmp_write_bird_ferry "$n"
		ecmp_start_bird "f$n" "${NS_FN[$((n - 1))]}"
	done
}

ecmp_birdc() { # NAME CMD...: birdc on BIRD NAME (r, f1, f2)
	local name=$1
	shift
	timeout 5 birdc -s "$(ecmp_bird_sock "$name")" "$@"
}

# ecmp_nexthops ADDR: the router's next hops for ADDR (Ferry addresses,
# sorted, space separated; empty when there is no route).
ecmp_nexthops() {
	ip -n "$NS_R" route show "$1/32" 2>/dev/null |
		grep -o 'via [0-9.]*' | awk '{print $2}' | sort | paste -sd' '
}

ecmp_all_ferries() { # the addresses of every Ferry machine, as ecmp_nexthops
	local n
	for n in $(seq 1 "$ECMP_NF"); do ferry_addr_n "$n"; done | sort | paste -sd' '
}

# ecmp_route_is ADDR "NEXTHOPS": the router routes ADDR via exactly these.
ecmp_route_is() { [ "$(ecmp_nexthops "$1")" = "$2" ]; }

# ecmp_bfd_up NAME: BIRD NAME's BFD sessions that are up (count).
ecmp_bfd_up() {
	ecmp_birdc "$1" show bfd sessions 2>/dev/null | awk '$3 == "Up"' | wc -l
}
