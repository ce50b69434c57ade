# shellcheck shell=bash
# tests/lab/lib.sh: the netns lab's shared helpers: topology up/down, ferryd start/stop, wait_for, checks, cleanup trap. Sourced, not run.
#
# Topology (IPv4), every name carries the per-run prefix $LAB_PREFIX:
#
#   C1..C3 (10.77.1.1x) --[brc 10.77.1.1]-- R --[f0 10.77.2.1]==[eth0 10.77.2.2] F (ferryd, XDP)
#                                           |
#                                  [brb 10.77.3.1] -- B1..B3 (10.77.3.1x, VIP on lo, decap XDP)
#
# A test may add B4 (10.77.3.14) and more to a running lab (lab_add_backend).
# ferryd's control socket is $LAB_SOCK (lab_ctl runs ferryctl on it).
#
# R routes the VIPs to F; F's XDP program encapsulates (IPIP) towards a
# backend and sends the frame back out to R (XDP_TX, so f0 carries the pass
# program); R forwards to the backend, whose decap program strips the outer
# header; the backend answers the client directly (DSR).
#
# Environment:
#   FERRY_BUILD        build directory (default <repo>/build)
#   FERRY_LAB_PREFIX   name prefix (default fl<pid>); a run first removes
#                      leftovers of its own prefix
#   FERRY_LAB_KEEP     directory to copy the run's logs to at teardown
#   FERRY_LAB_TIMEOUT  seconds before the watchdog ends a run (test/demo)
#   PYTHON             python3 interpreter (default python3)
#   LAB_HEALTH         (set by a test) extra health settings for both VIPs,
#                      e.g. "interval = 200; timeout = 100; rise = 2; fall = 2;"
#   LAB_TCP_BACKENDS   (set by a test) lab-tcp's backends as lab_write_conf
#   LAB_UDP_BACKENDS   writes them: backend numbers, "I" or "I:WEIGHT", space
#                      separated (default: every backend, weight 1)

LAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB_DIR=$LAB_ROOT/tests/lab
FERRY_BUILD=$(cd "$LAB_ROOT" && realpath -m "${FERRY_BUILD:-build}")
FERRYD=$FERRY_BUILD/control/ferryd
FERRYCTL=$FERRY_BUILD/control/ferryctl
PYTHON=${PYTHON:-python3}

LAB_PREFIX=${FERRY_LAB_PREFIX:-fl$$}
LAB_RUN=/run/ferry-lab-$LAB_PREFIX
LAB_BPFFS=$LAB_RUN/bpf
LAB_CONF=$LAB_RUN/ferry.conf
LAB_LOGS=$LAB_RUN/logs
LAB_FERRYD_LOG=$LAB_LOGS/ferryd.log
# ferryd's control socket: per run (not ferryd's default, shared by parallel
# runs), and not on the bpffs (no unix socket can be created there).
LAB_SOCK=$LAB_RUN/ctl/ferryd.sock

NS_R=$LAB_PREFIX-r
NS_F=$LAB_PREFIX-f
LAB_NCLIENTS=3
LAB_NBACKENDS=3
NS_C=()
NS_B=()
for _i in $(seq 1 $LAB_NCLIENTS); do NS_C+=("$LAB_PREFIX-c$_i"); done
for _i in $(seq 1 $LAB_NBACKENDS); do NS_B+=("$LAB_PREFIX-b$_i"); done
unset _i

VIP=10.77.100.1
VIP_TCP_PORT=8080
VIP_UDP_PORT=9090
FERRY_ADDR=10.77.2.2
HOST_TCP_PORT=7070
ROUTER_F_MAC=02:77:02:00:00:01
FERRY_MAC=02:77:02:00:00:02
LAB_MTU=1600

client_addr() { echo "10.77.1.1$1"; }   # client i (1-based)
backend_addr() { echo "10.77.3.1$1"; }  # backend i (1-based)
backend_name() { echo "b$1"; }

LAB_PIDS=()        # background processes this run started
LAB_BACKEND_PID=() # backend i's server (index 1..)
FERRYD_PID=
FERRYD_STATUS=0    # exit status of the last ferryd lab_stop_ferryd stopped
LAB_FERRYD_STARTED=0
LAB_FERRYD_MARK=0  # lines of the ferryd log before the current ferryd started
LAB_PASS=0
LAB_FAIL=0
LAB_UP=0
LAB_WATCHDOG=
LAB_AT_TEARDOWN=() # commands (strings) lab_teardown evaluates first

# ---- messages, checks --------------------------------------------------
lab_log() { printf '[lab %s] %s\n' "$(date +%T)" "$*" >&2; }

# fail MESSAGE: a setup step went wrong; the EXIT trap tears down.
fail() {
	printf 'FAIL: %s\n' "$*"
	LAB_FAIL=$((LAB_FAIL + 1))
	exit 1
}

# skip MESSAGE: this machine cannot run the lab (exit 77, meson's skip).
skip() {
	printf 'SKIP: %s\n' "$*"
	exit 77
}

# check NAME CMD...: run one assertion; CMD's output is its detail line.
check() {
	local name=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	if [ "$rc" -eq 0 ]; then
		LAB_PASS=$((LAB_PASS + 1))
		printf 'PASS: %s' "$name"
	else
		LAB_FAIL=$((LAB_FAIL + 1))
		printf 'FAIL: %s' "$name"
	fi
	[ -n "$out" ] && printf ' -- %s' "$(printf '%s' "$out" | tr '\n' ' ' | cut -c1-600)"
	printf '\n'
	return 0
}

# lab_summary: the closing line, then exit: 1 when any check failed.
lab_summary() {
	printf '%d passed, %d failed\n' "$LAB_PASS" "$LAB_FAIL"
	[ "$LAB_FAIL" -eq 0 ] || exit 1
	exit 0
}

# wait_for SECONDS DESCRIPTION CMD...: poll CMD every 0.2 s until it succeeds.
wait_for() {
	local secs=$1 what=$2 end
	shift 2
	end=$(($(date +%s%N) / 1000000 + secs * 1000))
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		if [ $(($(date +%s%N) / 1000000)) -ge "$end" ]; then
			lab_log "timed out after ${secs}s waiting for: $what"
			return 1
		fi
		sleep 0.2
	done
}

# nsx NS CMD...: run CMD inside network namespace NS.
nsx() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

nsysctl() { nsx "$1" sysctl -qw "$2=$3" >/dev/null; }

# ---- preconditions ------------------------------------------------------
# lab_require: skip (77) when not root or the kernel lacks what the lab
# needs; fail when the build or a tool is missing.
lab_require() {
	[ "$(id -u)" -eq 0 ] || skip "the netns lab needs root (CAP_NET_ADMIN, CAP_BPF, CAP_SYS_ADMIN)"
	local t
	for t in ip ethtool sysctl timeout mount "$PYTHON" ping; do
		command -v "$t" >/dev/null 2>&1 || fail "'$t' not found: run tests/deps.sh"
	done
	local probe=ferry-probe-$$
	ip netns add "$probe" 2>/dev/null || skip "cannot create network namespaces"
	if ! ip -n "$probe" link add name fp0 type veth peer name fp1 2>/dev/null; then
		ip netns del "$probe"
		skip "no veth support in this kernel"
	fi
	if ! ip -n "$probe" link add name fbr0 type bridge 2>/dev/null; then
		ip netns del "$probe"
		skip "no bridge support in this kernel"
	fi
	ip netns del "$probe"
	local o
	for o in ferry decap pass; do
		[ -f "$FERRY_BUILD/bpf/$o.bpf.o" ] || fail "$FERRY_BUILD/bpf/$o.bpf.o missing: build first (ninja -C $FERRY_BUILD)"
	done
}

lab_require_ferryd() {
	[ -x "$FERRYD" ] || fail "$FERRYD missing: build first (ninja -C $FERRY_BUILD)"
}

lab_require_ferryctl() {
	[ -x "$FERRYCTL" ] || fail "$FERRYCTL missing: build first (ninja -C $FERRY_BUILD)"
}

# ---- teardown -------------------------------------------------------------
lab_namespaces_of() { # PREFIX: this prefix's namespaces that exist
	ip netns list 2>/dev/null | awk '{print $1}' |
		grep -E "^$1-(r|f|c[0-9]+|b[0-9]+)\$" || true
}

lab_kill_pids() { # PID...: TERM, up to 3 s grace, then KILL
	local p alive i
	[ $# -gt 0 ] || return 0
	kill -TERM "$@" 2>/dev/null || true
	for i in $(seq 30); do
		alive=0
		for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive -eq 0 ] && return 0
		sleep 0.1
	done
	kill -KILL "$@" 2>/dev/null || true
}

# lab_destroy PREFIX: remove every namespace, process and mount of PREFIX.
lab_destroy() {
	local prefix=$1 ns dev pids run=/run/ferry-lab-$1
	for ns in $(lab_namespaces_of "$prefix"); do
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		# shellcheck disable=SC2086
		[ -z "$pids" ] || lab_kill_pids $pids
	done
	for ns in $(lab_namespaces_of "$prefix"); do
		for dev in eth0 f0; do
			ip -n "$ns" link set dev "$dev" xdp off 2>/dev/null || true
		done
		ip netns del "$ns" 2>/dev/null || lab_log "could not delete namespace $ns"
	done
	if mountpoint -q "$run/bpf" 2>/dev/null; then
		umount "$run/bpf" 2>/dev/null || umount -l "$run/bpf" || lab_log "could not unmount $run/bpf"
	fi
	rm -rf "$run"
}

# lab_teardown: the EXIT trap: stop ferryd, detach, remove everything.
lab_teardown() {
	local rc=$?
	trap - EXIT INT TERM ERR
	set +e
	[ -z "$LAB_WATCHDOG" ] || kill "$LAB_WATCHDOG" 2>/dev/null
	local hook
	for hook in "${LAB_AT_TEARDOWN[@]}"; do eval "$hook"; done
	if [ "$LAB_UP" -eq 1 ]; then
		lab_log "tearing down $LAB_PREFIX"
		lab_stop_ferryd
		if [ "$LAB_FERRYD_STARTED" -eq 1 ]; then
			local out
			out=$(timeout 15 ip netns exec "$NS_F" "$FERRYD" -c "$LAB_CONF" --detach 2>&1) ||
				lab_log "ferryd --detach failed: $out"
			[ -z "$out" ] || printf '%s\n' "$out" >>"$LAB_FERRYD_LOG"
		fi
		[ ${#LAB_PIDS[@]} -eq 0 ] || lab_kill_pids "${LAB_PIDS[@]}"
		local keep=${FERRY_LAB_KEEP:-}
		if [ -z "$keep" ] && [ "$rc" -ne 0 ]; then
			keep=${TMPDIR:-/tmp}/ferry-lab-$LAB_PREFIX-logs
			if [ -s "$LAB_FERRYD_LOG" ]; then
				lab_log "last lines of ferryd's log:"
				tail -n 10 "$LAB_FERRYD_LOG" | sed 's/^/    /' >&2
			fi
		fi
		if [ -n "$keep" ] && [ -d "$LAB_LOGS" ]; then
			mkdir -p "$keep" && cp -a "$LAB_LOGS/." "$keep/" &&
				lab_log "logs kept in $keep"
		fi
	fi
	lab_destroy "$LAB_PREFIX"
	exit "$rc"
}

# lab_at_teardown CMD: evaluate CMD (a string) when the run ends, before
# ferryd is stopped and detached (e.g. put a good config back).
lab_at_teardown() { LAB_AT_TEARDOWN+=("$1"); }

# lab_trap [SECONDS]: install the teardown trap and a watchdog that ends
# the run after SECONDS (default 150).
lab_trap() {
	set -E # the ERR trap in functions and subshells too
	trap 'lab_log "error: exit $? at ${BASH_SOURCE[0]##*/}:$LINENO: $BASH_COMMAND"' ERR
	trap lab_teardown EXIT
	trap 'lab_log "interrupted"; exit 130' INT
	trap 'lab_log "terminated (watchdog or signal)"; exit 143' TERM
	local secs=${1:-150}
	(
		trap 'kill "$sp" 2>/dev/null; exit 0' TERM
		sleep "$secs" &
		sp=$!
		wait "$sp"
		# only if the run is still our parent (its pid is not reused)
		me=$BASHPID
		[ "$(ps -o ppid= -p "$me" | tr -d ' ')" = "$$" ] || exit 0
		echo "FAIL: watchdog: the lab ran over ${secs}s" >&2
		kill -TERM $$
	) </dev/null &
	LAB_WATCHDOG=$!
}

# ---- topology -------------------------------------------------------------
# veth_into PARENT_NS PARENT_DEV CHILD_NS: a pair, CHILD_NS's end named eth0.
veth_into() {
	ip -n "$1" link add name "$2" type veth peer name eth0 netns "$3"
}

lab_ns_base() { # NS: loopback up, no reverse-path filtering
	ip netns add "$1"
	ip -n "$1" link set lo up
	nsysctl "$1" net.ipv4.conf.all.rp_filter 0
	nsysctl "$1" net.ipv4.conf.default.rp_filter 0
}

lab_up() {
	lab_destroy "$LAB_PREFIX" # leftovers of an earlier run with this prefix
	mkdir -p "$LAB_RUN" "$LAB_LOGS" "$LAB_BPFFS"
	LAB_UP=1
	local i ns

	# bpffs outside /sys: `ip netns exec` remounts /sys privately.
	mount -t bpf bpf "$LAB_BPFFS" || fail "cannot mount bpffs at $LAB_BPFFS"

	lab_ns_base "$NS_R"
	nsysctl "$NS_R" net.ipv4.ip_forward 1
	ip -n "$NS_R" link add name brc type bridge
	ip -n "$NS_R" link add name brb type bridge
	ip -n "$NS_R" addr add 10.77.1.1/24 dev brc
	ip -n "$NS_R" addr add 10.77.3.1/24 dev brb

	# Ferry
	lab_ns_base "$NS_F"
	veth_into "$NS_R" f0 "$NS_F"
	ip -n "$NS_R" link set dev f0 address $ROUTER_F_MAC mtu $LAB_MTU up
	ip -n "$NS_R" addr add 10.77.2.1/24 dev f0
	ip -n "$NS_F" link set dev eth0 address $FERRY_MAC mtu $LAB_MTU up
	ip -n "$NS_F" addr add $FERRY_ADDR/24 dev eth0
	ip -n "$NS_F" route add default via 10.77.2.1
	# XDP_TX from F's eth0 arrives at f0 only if f0 runs an XDP program.
	ip -n "$NS_R" link set dev f0 xdp obj "$FERRY_BUILD/bpf/pass.bpf.o" sec xdp ||
		fail "cannot attach pass.bpf.o to the router's f0"
	ip -n "$NS_R" route add $VIP/32 via $FERRY_ADDR

	# clients
	for i in $(seq 1 $LAB_NCLIENTS); do
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

	# backends: VIP on lo, Ferry's decap program on eth0
	for i in $(seq 1 $LAB_NBACKENDS); do lab_backend_ns "$i"; done
	ip -n "$NS_R" link set dev brb mtu $LAB_MTU
	ip -n "$NS_R" link set dev brc up
	ip -n "$NS_R" link set dev brb up

	wait_for 10 "router reaches every client, backend and Ferry" lab_ping_all ||
		fail "lab links do not come up (ping from the router)"
	lab_log "topology $LAB_PREFIX up"
}

# lab_backend_ns I: backend I's namespace, wired to the router's brb.
lab_backend_ns() {
	local i=$1 ns=${NS_B[$(($1 - 1))]}
	lab_ns_base "$ns"
	veth_into "$NS_R" "b$i" "$ns"
	ip -n "$NS_R" link set dev "b$i" mtu $LAB_MTU master brb up
	ip -n "$ns" link set dev eth0 mtu $LAB_MTU up
	ip -n "$ns" addr add "$(backend_addr "$i")/24" dev eth0
	ip -n "$ns" addr add $VIP/32 dev lo
	ip -n "$ns" route add default via 10.77.3.1
	nsysctl "$ns" net.ipv4.conf.eth0.rp_filter 0
	nsysctl "$ns" net.ipv4.conf.lo.rp_filter 0
	nsysctl "$ns" net.ipv4.conf.eth0.accept_local 1
	ip -n "$ns" link set dev eth0 xdp obj "$FERRY_BUILD/bpf/decap.bpf.o" sec xdp ||
		fail "cannot attach decap.bpf.o in $ns"
}

# lab_add_backend: one more backend namespace (number LAB_NBACKENDS + 1)
# in the running lab; from then on LAB_NBACKENDS counts it, so the next
# lab_write_conf lists it as a node (and, by default, in both VIPs). Its
# server is not started (lab_start_backend).
lab_add_backend() {
	local i=$((LAB_NBACKENDS + 1))
	NS_B+=("$LAB_PREFIX-b$i")
	LAB_NBACKENDS=$i
	lab_backend_ns "$i"
	wait_for 10 "router reaches backend $i" nsx "$NS_R" ping -c1 -W1 -q "$(backend_addr "$i")" ||
		fail "backend $i's link does not come up"
	lab_log "backend $i ($(backend_name "$i"), ${NS_B[-1]}) added"
}

lab_ping_all() {
	local i
	nsx "$NS_R" ping -c1 -W1 -q $FERRY_ADDR || return 1
	for i in $(seq 1 $LAB_NCLIENTS); do
		nsx "$NS_R" ping -c1 -W1 -q "$(client_addr "$i")" || return 1
	done
	for i in $(seq 1 $LAB_NBACKENDS); do
		nsx "$NS_R" ping -c1 -W1 -q "$(backend_addr "$i")" || return 1
	done
}

# ---- services ---------------------------------------------------------------
# lab_bg NS LOGNAME CMD...: start CMD in NS in the background, remember it.
lab_bg() {
	local ns=$1 log=$2
	shift 2
	ip netns exec "$ns" "$@" </dev/null >>"$LAB_LOGS/$log" 2>&1 &
	LAB_PIDS+=($!)
}

# lab_start_backend I: lbserver.py on backend I: tcp on every address (the
# VIP, and the node's own address where ferryd's health probes go), udp on
# the VIP (so answers leave from it). Its pid in LAB_BACKEND_PID[I].
lab_start_backend() {
	local i=$1 name
	name=$(backend_name "$i")
	rm -f "$LAB_RUN/$name.ready"
	lab_bg "${NS_B[$((i - 1))]}" "$name.out" "$PYTHON" "$LAB_DIR/lbserver.py" \
		--name "$name" --addr $VIP --tcp-addr 0.0.0.0 \
		--tcp $VIP_TCP_PORT --udp $VIP_UDP_PORT \
		--log "$LAB_LOGS/$name.log" --ready "$LAB_RUN/$name.ready"
	LAB_BACKEND_PID[i]=${LAB_PIDS[-1]}
}

# lab_stop_backend I: stop backend I's server (its health probes fail).
lab_stop_backend() {
	lab_kill_pids "${LAB_BACKEND_PID[$1]}"
	wait "${LAB_BACKEND_PID[$1]}" 2>/dev/null || true
}

# lab_start_servers: every backend's server and one on F's own address
# (tcp 7070), then wait until all listen.
lab_start_servers() {
	local i ready=()
	for i in $(seq 1 $LAB_NBACKENDS); do
		lab_start_backend "$i"
		ready+=("$LAB_RUN/$(backend_name "$i").ready")
	done
	lab_bg "$NS_F" host.out "$PYTHON" "$LAB_DIR/lbserver.py" \
		--name ferry-host --addr $FERRY_ADDR --tcp $HOST_TCP_PORT \
		--log "$LAB_LOGS/host.log" --ready "$LAB_RUN/host.ready"
	ready+=("$LAB_RUN/host.ready")
	wait_for 15 "lab servers listening" ls "${ready[@]}" ||
		fail "lab servers did not start: $(tail -n 5 "$LAB_LOGS"/*.out 2>/dev/null | tr '\n' ' ')"
}

# lab_clients DIR TAG ARGS...: lbclient.py ARGS in every client at once;
# results in DIR/TAG-c<i>.json (a client that fails still leaves its JSON).
lab_clients() {
	local dir=$1 tag=$2 i pids=()
	shift 2
	for i in $(seq 1 $LAB_NCLIENTS); do
		nsx "${NS_C[$((i - 1))]}" timeout 60 "$PYTHON" "$LAB_DIR/lbclient.py" "$@" \
			>"$dir/$tag-c$i.json" 2>>"$LAB_LOGS/client-$tag.err" &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || true; done
}

# lab_clients_bg DIR TAG ARGS...: lab_clients in the background ("{c}" in
# ARGS becomes the client's number, e.g. for --ready files); their pids in
# LAB_BG_CLIENTS until lab_clients_wait.
LAB_BG_CLIENTS=()
lab_clients_bg() {
	local dir=$1 tag=$2 i
	shift 2
	for i in $(seq 1 $LAB_NCLIENTS); do
		nsx "${NS_C[$((i - 1))]}" timeout 80 "$PYTHON" "$LAB_DIR/lbclient.py" "${@//\{c\}/$i}" \
			>"$dir/$tag-c$i.json" 2>>"$LAB_LOGS/client-$tag.err" &
		LAB_BG_CLIENTS+=($!)
		LAB_PIDS+=($!)
	done
}

lab_clients_wait() { # wait for every lab_clients_bg client
	local p
	for p in "${LAB_BG_CLIENTS[@]}"; do wait "$p" || true; done
	LAB_BG_CLIENTS=()
}

backend_logs() { # paths of the backends' request logs
	local i
	for i in $(seq 1 $LAB_NBACKENDS); do echo "$LAB_LOGS/$(backend_name "$i").log"; done
}

# ---- ferryd -----------------------------------------------------------------
# lab_backends_list SPEC: a VIP's backends list (lines of the config) from
# SPEC, "I" or "I:WEIGHT" words; every backend when SPEC is empty.
lab_backends_list() {
	local spec=${1:-$(seq 1 $LAB_NBACKENDS)} w
	for w in $spec; do
		case $w in
		*:*) printf '      { node = "%s"; weight = %s; },\n' "$(backend_name "${w%%:*}")" "${w#*:}" ;;
		*) printf '      { node = "%s"; },\n' "$(backend_name "$w")" ;;
		esac
	done | sed '$ s/,$//'
}

lab_write_conf() {
	local i be ube
	be=$(lab_backends_list "${LAB_TCP_BACKENDS:-}")
	ube=$(lab_backends_list "${LAB_UDP_BACKENDS:-}")
	local tcp_health=""
	[ -z "${LAB_HEALTH:-}" ] ||
		tcp_health=$'\n'"    health = { type = \"tcp\"; $LAB_HEALTH };"
	{
		cat <<EOF
# ferry.conf of the netns lab $LAB_PREFIX (written by tests/lab/lib.sh)
dataplane = {
  engine = "xdp";
  interface = "eth0";
  xdp_mode = "native";
  bpffs = "$LAB_BPFFS";
  next_hop_mac = "$ROUTER_F_MAC";
  encap_source_v4 = "$FERRY_ADDR";
  mtu = $LAB_MTU;
};

control = {
  socket = "$LAB_SOCK";
};

nodes = (
EOF
		for i in $(seq 1 $LAB_NBACKENDS); do
			printf '  { name = "%s"; address = "%s"; }%s\n' "$(backend_name "$i")" \
				"$(backend_addr "$i")" "$([ "$i" -lt $LAB_NBACKENDS ] && echo ,)"
		done
		cat <<EOF
);

vips = (
  {
    name = "lab-tcp";
    address = "$VIP";
    port = $VIP_TCP_PORT;
    protocol = "tcp";
    hash = "5tuple";$tcp_health
    backends = (
$be
    );
  },
  {
    name = "lab-udp";
    address = "$VIP";
    port = $VIP_UDP_PORT;
    protocol = "udp";
    health = { type = "tcp"; port = $VIP_TCP_PORT;${LAB_HEALTH:+ $LAB_HEALTH} };  # a UDP service: probe its TCP side
    backends = (
$ube
    );
  }
);
EOF
	} >"$LAB_CONF"
}

ferryd_alive() { [ -n "$FERRYD_PID" ] && kill -0 "$FERRYD_PID" 2>/dev/null; }

# ferryd_ready: 0 once the log says "ready", or once --stats reads the
# pinned maps and eth0 carries the program (maps are pinned before the
# program is attached, so --stats alone is too early); 2 if ferryd died.
ferryd_ready() {
	ferryd_alive || return 2
	tail -n "+$((LAB_FERRYD_MARK + 1))" "$LAB_FERRYD_LOG" | grep -qiw ready && return 0
	[ "$(xdp_mode "$NS_F" eth0)" != none ] || return 1
	nsx "$NS_F" "$FERRYD" -c "$LAB_CONF" --stats >/dev/null 2>&1
}

# xdp_mode NS DEV: prints native, generic, offload or none.
xdp_mode() {
	local l
	l=$(ip -n "$1" link show dev "$2" 2>/dev/null | head -n 1)
	case "$l" in
	*" xdpgeneric"*) echo generic ;;
	*" xdpoffload"*) echo offload ;;
	*" xdp"*) echo native ;;
	*) echo none ;;
	esac
}

xdp_attached() { [ "$(xdp_mode "$1" "$2")" != none ]; }

# ferryd_stats: print ferryd --stats (read from the pinned maps).
ferryd_stats() {
	timeout 10 ip netns exec "$NS_F" "$FERRYD" -c "$LAB_CONF" --stats
}

# lab_start_ferryd: write the config, check it, run ferryd in F, wait for
# it to be ready and for the VIP to answer.
lab_start_ferryd() {
	lab_require_ferryd
	lab_write_conf
	local out
	out=$(timeout 10 ip netns exec "$NS_F" "$FERRYD" -c "$LAB_CONF" --check 2>&1) ||
		fail "ferryd --check rejects the lab config: $out"
	touch "$LAB_FERRYD_LOG"
	LAB_FERRYD_MARK=$(wc -l <"$LAB_FERRYD_LOG")
	ip netns exec "$NS_F" "$FERRYD" -c "$LAB_CONF" </dev/null >>"$LAB_FERRYD_LOG" 2>&1 &
	FERRYD_PID=$!
	LAB_FERRYD_STARTED=1
	local end=$((SECONDS + 20)) rc
	while :; do
		rc=0
		ferryd_ready || rc=$?
		[ $rc -eq 0 ] && break
		if [ $rc -eq 2 ]; then
			wait "$FERRYD_PID" 2>/dev/null && rc=0 || rc=$?
			FERRYD_PID=
			fail "ferryd exited (status $rc) before ready: $(tail -n 5 "$LAB_FERRYD_LOG" | tr '\n' ' ')"
		fi
		[ $SECONDS -lt $end ] || fail "ferryd not ready after 20s: $(tail -n 5 "$LAB_FERRYD_LOG" | tr '\n' ' ')"
		sleep 0.2
	done
	wait_for 5 "an XDP program on eth0 in $NS_F" xdp_attached "$NS_F" eth0 ||
		fail "ferryd says ready but eth0 in $NS_F has no XDP program"
	lab_log "ferryd ready (pid $FERRYD_PID)"
	# The VIP answers once the tables are in: a few probe connections.
	wait_for 15 "the VIP answers a probe connection" nsx "${NS_C[0]}" timeout 5 \
		"$PYTHON" "$LAB_DIR/lbclient.py" tcp --host $VIP --port $VIP_TCP_PORT \
		--conns 3 --timeout 1 --deadline 4 ||
		fail "no TCP answer from the VIP $VIP:$VIP_TCP_PORT within 15s (ferryd log: $(tail -n 3 "$LAB_FERRYD_LOG" | tr '\n' ' '))"
}

# lab_stop_ferryd: SIGTERM (ferryd leaves the dataplane attached), up to
# 3 s grace, then SIGKILL; its exit status in FERRYD_STATUS.
lab_stop_ferryd() {
	ferryd_alive || return 0
	lab_kill_pids "$FERRYD_PID"
	FERRYD_STATUS=0
	# shellcheck disable=SC2034 # read by the tests
	wait "$FERRYD_PID" 2>/dev/null || FERRYD_STATUS=$?
	FERRYD_PID=
}

# lab_ctl ARGS...: ferryctl on the lab's control socket (bounded).
lab_ctl() {
	timeout 15 "$FERRYCTL" -s "$LAB_SOCK" "$@"
}

# lab_ctl_field PATH ARGS...: one value of `ferryctl --json ARGS`'s answer
# (PATH as lbcheck.py field reads it, e.g. 'backends[node=b1].state').
lab_ctl_field() {
	local path=$1 out
	shift
	out=$(lab_ctl --json "$@") || return 1
	printf '%s\n' "$out" | "$PYTHON" "$LAB_DIR/lbcheck.py" field "$path"
}

# lab_now: the time as Unix seconds with a fraction (what lbclient.py records).
lab_now() { date +%s.%N; }

# lab_calc EXPR: awk arithmetic on decimals (times), 3 decimals out.
lab_calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }

# lab_sleep_until T: sleep until the Unix time T (no-op once past).
lab_sleep_until() {
	local d
	d=$(lab_calc "$1 - $(lab_now)")
	case $d in -*) return 0 ;; esac
	sleep "$d"
}

# ferryd_detach: ferryd --detach (program and pins removed).
ferryd_detach() {
	timeout 15 ip netns exec "$NS_F" "$FERRYD" -c "$LAB_CONF" --detach
}

# lab_conf_add_vips TEXT: append VIP groups (TEXT, libconfig, without a
# leading comma) to the vips list of the config lab_write_conf wrote.
lab_conf_add_vips() {
	local body
	[ "$(tail -n 1 "$LAB_CONF")" = ");" ] ||
		fail "lab_conf_add_vips: $LAB_CONF does not end with the vips list"
	body=$(sed '$d' "$LAB_CONF")
	printf '%s,\n%s\n);\n' "$body" "$1" >"$LAB_CONF"
}

# ---- FreeRADIUS (radius health checks) --------------------------------------
LAB_FREERADIUS_ETC=${LAB_FREERADIUS_ETC:-/etc/freeradius/3.0}
LAB_FREERADIUS_PID=() # backend i's FreeRADIUS (index 1..)

lab_require_freeradius() {
	local t
	for t in freeradius radclient; do
		command -v "$t" >/dev/null 2>&1 || fail "'$t' not found: run tests/deps.sh"
	done
	[ -f "$LAB_FREERADIUS_ETC/radiusd.conf" ] ||
		fail "$LAB_FREERADIUS_ETC/radiusd.conf missing: run tests/deps.sh"
}

# lab_freeradius_conf DIR SECRET: a private FreeRADIUS configuration in DIR,
# a copy of the package's: Status-Server answered (status_server = yes) on
# 1812 (auth) and 1813 (acct) of every address, clients Ferry's address and
# localhost with the shared secret SECRET, run and log files under DIR, runs
# as root (no switch to freerad).
lab_freeradius_conf() {
	local dir=$1 secret=$2
	rm -rf "$dir"
	mkdir -p "$dir"
	cp -a "$LAB_FREERADIUS_ETC/." "$dir/"
	mkdir -p "$dir/log" "$dir/run"
	sed -i -e "s|^raddbdir = .*|raddbdir = $dir|" \
		-e "s|^logdir = .*|logdir = $dir/log|" \
		-e "s|^run_dir = .*|run_dir = $dir/run|" \
		-e 's/^\(\s*\)\(user\|group\) = freerad/\1#\2 = freerad/' \
		-e 's/^\(\s*\)status_server = .*/\1status_server = yes/' \
		"$dir/radiusd.conf"
	if ! grep -q "^raddbdir = $dir\$" "$dir/radiusd.conf" ||
		! grep -q '^\s*status_server = yes' "$dir/radiusd.conf"; then
		fail "cannot edit $dir/radiusd.conf (package layout changed?)"
	fi
	cat >"$dir/clients.conf" <<EOC
# clients of the lab's FreeRADIUS (written by tests/lab/lib.sh)
client ferry {
	ipaddr = $FERRY_ADDR
	secret = "$secret"
	require_message_authenticator = yes
}
client localhost {
	ipaddr = 127.0.0.1
	secret = "$secret"
}
EOC
}

# lab_freeradius_status I PORT SECRET: one Status-Server from inside backend
# I to its FreeRADIUS (radclient, via localhost); 0 when answered.
lab_freeradius_status() {
	echo "Message-Authenticator = 0x00" |
		nsx "${NS_B[$(($1 - 1))]}" timeout 5 radclient -q -r 1 -t 1 "127.0.0.1:$2" status "$3"
}

# lab_start_freeradius I DIR: FreeRADIUS with the configuration in DIR on
# backend I, in the foreground with its debug log (-X) appended to
# $LAB_LOGS/freeradius-<name>.log; waits until it answers Status-Server.
lab_start_freeradius() {
	local i=$1 dir=$2 secret
	lab_bg "${NS_B[$((i - 1))]}" "freeradius-$(backend_name "$i").log" freeradius -X -d "$dir"
	LAB_FREERADIUS_PID[i]=${LAB_PIDS[-1]}
	secret=$(sed -n 's/^\s*secret = "\(.*\)"$/\1/p' "$dir/clients.conf" | head -n 1)
	wait_for 20 "FreeRADIUS on backend $i answers Status-Server" \
		lab_freeradius_status "$i" 1812 "$secret" ||
		fail "FreeRADIUS on backend $i does not answer: $(tail -n 5 "$LAB_LOGS/freeradius-$(backend_name "$i").log" | tr '\n' ' ')"
}

# lab_stop_freeradius I: stop backend I's FreeRADIUS.
lab_stop_freeradius() {
	[ -n "${LAB_FREERADIUS_PID[$1]:-}" ] || return 0
	lab_kill_pids "${LAB_FREERADIUS_PID[$1]}"
	wait "${LAB_FREERADIUS_PID[$1]}" 2>/dev/null || true
	LAB_FREERADIUS_PID[$1]=
}

# ---- FreeRADIUS as the NASes' server (pinned RADIUS behind Ferry) ------------
LAB_RADIUS_PASSWORD=lab-pass # every lab NAS user's password

# lab_skip_without_freeradius: skip (77) when FreeRADIUS or radclient is
# not installed (tests/deps.sh installs them).
lab_skip_without_freeradius() {
	local t
	for t in freeradius radclient; do
		command -v "$t" >/dev/null 2>&1 || skip "'$t' not installed (freeradius, freeradius-utils: tests/deps.sh)"
	done
	[ -f "$LAB_FREERADIUS_ETC/radiusd.conf" ] ||
		skip "$LAB_FREERADIUS_ETC/radiusd.conf missing (freeradius: tests/deps.sh)"
}

# lab_freeradius_nas DIR NAME SECRET ADDR...: make lab_freeradius_conf's DIR
# the server of the NASes at ADDR..., each a client with the shared secret
# SECRET (the only other clients stay Ferry's address, for its probes, and
# localhost). Every Access-Request with User-Password $LAB_RADIUS_PASSWORD
# is accepted and every Accounting-Request answered, the answer carrying
# Reply-Message "served-by NAME"; every request is logged with its packet
# header (Packet-Src-IP-Address, Packet-Dst-IP-Address, ...) in a detail
# file of its source address: DIR/log/radacct/ADDR/auth-detail-YYYYMMDD
# (Access-Request, auth_log) and .../detail-YYYYMMDD (Accounting-Request).
lab_freeradius_nas() {
	local dir=$1 name=$2 secret=$3 a n=0 f
	shift 3
	for a in "$@"; do
		n=$((n + 1))
		printf 'client nas%d {\n\tipaddr = %s\n\tsecret = "%s"\n}\n' "$n" "$a" "$secret"
	done >>"$dir/clients.conf"
	f=$dir/mods-config/files/authorize
	{
		printf 'DEFAULT Cleartext-Password := "%s"\n\tReply-Message := "served-by %s"\n\n' \
			"$LAB_RADIUS_PASSWORD" "$name"
		cat "$f"
	} >"$f.new" && mv "$f.new" "$f"
	f=$dir/sites-available/default
	sed -i 's/^#\(\s*auth_log\)$/\1/' "$f"
	awk -v n="$name" '/^accounting {/ { a = 1 }
		a && /^}/ { printf "\tupdate reply {\n\t\tReply-Message := \"served-by %s\"\n\t}\n", n; a = 0 }
		{ print }' "$f" >"$f.new" && mv "$f.new" "$f"
	sed -i 's/^#\(\s*log_packet_header = yes\)/\1/' "$dir/mods-available/detail"
	sed -i '/^detail auth_log {/a\	log_packet_header = yes' "$dir/mods-available/detail.log"
	if ! grep -q '^\s*auth_log$' "$f" || ! grep -q "served-by $name" "$f" ||
		! grep -q '^\s*log_packet_header = yes' "$dir/mods-available/detail" ||
		! grep -q '^\s*log_packet_header = yes' "$dir/mods-available/detail.log"; then
		fail "cannot edit $dir for the NASes (package layout changed?)"
	fi
}

# lab_stamp_log FILE OUT: append each line written to FILE from now on to
# OUT, prefixed with the Unix time it appeared (10 ms polling), until
# teardown: e.g. when ferryd logged a backend up or a pin move.
lab_stamp_log() {
	"$PYTHON" -u -c '
import sys, time
src, out = open(sys.argv[1]), open(sys.argv[2], "a")
src.seek(0, 2)
part = ""
while True:
    line = src.readline()
    if not line:
        time.sleep(0.01)
        continue
    part += line
    if part.endswith("\n"):
        out.write("%.3f %s" % (time.time(), part))
        out.flush()
        part = ""' "$1" "$2" </dev/null &
	LAB_PIDS+=($!)
}

# lab_stamp_run OUT CMD...: run CMD in the background, each line of its
# output (stdout and stderr) appended to OUT prefixed with the Unix time it
# came (e.g. radclient -x: when each request left and each answer came);
# its pid (a python wrapper: TERM ends CMD too) in LAB_STAMP_PID.
lab_stamp_run() {
	local out=$1
	shift
	"$PYTHON" -u -c '
import signal, subprocess, sys, time
out = open(sys.argv[1], "ab")
p = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL,
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
signal.signal(signal.SIGTERM, lambda *_: p.terminate())
for line in iter(p.stdout.readline, b""):
    out.write(b"%.3f %s" % (time.time(), line))
    out.flush()
sys.exit(p.wait() & 0xff)' "$out" "$@" </dev/null &
	# shellcheck disable=SC2034 # read by the tests
	LAB_STAMP_PID=$!
	LAB_PIDS+=($!)
}

# lab_launch_freeradius I DIR: start FreeRADIUS (DIR's configuration) on
# backend I like lab_start_freeradius, without waiting: several start at
# once, then lab_await_freeradius for each.
LAB_FREERADIUS_MARK=() # lines of backend i's FreeRADIUS log before its last start
lab_launch_freeradius() {
	local log
	log=$LAB_LOGS/freeradius-$(backend_name "$1").log
	touch "$log"
	LAB_FREERADIUS_MARK[$1]=$(wc -l <"$log")
	lab_bg "${NS_B[$(($1 - 1))]}" "${log##*/}" freeradius -X -d "$2"
	LAB_FREERADIUS_PID[$1]=${LAB_PIDS[-1]}
}

# lab_freeradius_ready I: backend I's FreeRADIUS logged "Ready to process
# requests" since its last lab_launch_freeradius.
lab_freeradius_ready() {
	tail -n "+$((${LAB_FREERADIUS_MARK[$1]:-0} + 1))" \
		"$LAB_LOGS/freeradius-$(backend_name "$1").log" | grep -q '^Ready to process requests'
}

# lab_await_freeradius I DIR: wait until backend I's FreeRADIUS is ready
# and answers Status-Server (20 s at most).
lab_await_freeradius() {
	local secret
	secret=$(sed -n 's/^\s*secret = "\(.*\)"$/\1/p' "$2/clients.conf" | head -n 1)
	if ! wait_for 20 "FreeRADIUS on backend $1 ready" lab_freeradius_ready "$1" ||
		! wait_for 5 "FreeRADIUS on backend $1 answers Status-Server" \
			lab_freeradius_status "$1" 1812 "$secret"; then
		fail "FreeRADIUS on backend $1 does not answer: $(tail -n 5 "$LAB_LOGS/freeradius-$(backend_name "$1").log" | tr '\n' ' ')"
	fi
}
