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
# With LAB_ENGINE=dpdk, F's eth0 belongs to ferry-dpdk (net_af_packet, port
# 0: no address, no ARP, no IPv6; the data port) and the kernel in F uses
# ferry-dpdk's exception port, a tap ($LAB_TAP, net_tap, port 1, MAC
# FERRY_MAC) that carries FERRY_ADDR/24 and F's default route:
#
#   R [f0] ==== [eth0] ferry-dpdk [tap <prefix>tap 10.77.2.2] kernel in F (ferryd)
#
# (FERRY_LAB_DPDK_EXCEPTION=pcap: the exception port is net_pcap on one end
# of a veth pair in F, <prefix>x, and the kernel's end is named $LAB_TAP.)
#
# ARP, ferryd's health probes and traffic to Ferry's own address go
# kernel <-> tap <-> ferry-dpdk <-> eth0; VIP traffic arriving on eth0 is
# encapsulated by ferry-dpdk and sent back out of eth0 (as XDP_TX does), so
# R's f0 needs no pass program. The lab starts ferry-dpdk itself (in F,
# before ferryd: ferryd does not run it) and stops it at teardown.
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
#   LAB_ENGINE         xdp (default) or dpdk: the dataplane under test
#   FERRY_LAB_DPDK_LCORES  ferry-dpdk's lcores (default 0-1: a main lcore
#                      that does not forward, one worker): a list goes to
#                      EAL -l, a map with "@" or "(" to EAL --lcores (e.g.
#                      0@0,1@1,2@0: two workers on two CPUs); the lowest
#                      lcore id is the main lcore
#   FERRY_LAB_DPDK_QPAIRS  queue pairs of the af_packet data port (default
#                      1; N > 1: qpairs=N, PACKET_FANOUT hash spreads flows
#                      over them; give as many workers)
#   FERRY_LAB_DPDK_EXCEPTION  the exception port: tap (default: net_tap,
#                      the tap $LAB_TAP made by ferry-dpdk) or pcap (net_pcap
#                      on <prefix>x, a veth whose kernel end is $LAB_TAP, made
#                      by the lab: one RX queue, a TX queue per worker, which
#                      net_tap does not allow: it needs as many RX as TX)
#   FERRY_LAB_DPDK_IDLE_US  ferry-dpdk's idle_sleep_us (default 50: an idle
#                      worker sleeps, so a small machine is not starved)
#   FERRY_LAB_DPDK_MODE  config: start `ferry-dpdk --config $LAB_CONF`; cli:
#                      EAL args -- --control ... --tables ... (default:
#                      config where ferry-dpdk has --config)
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
FERRY_DPDK=$FERRY_BUILD/ferry-dpdk
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

LAB_ENGINE=${LAB_ENGINE:-xdp}
case $LAB_ENGINE in
xdp | dpdk) ;;
*)
	echo "FAIL: LAB_ENGINE=$LAB_ENGINE: xdp or dpdk" >&2
	exit 1
	;;
esac
# ferry-dpdk (LAB_ENGINE=dpdk): its control socket, tables file, log, the
# tap the kernel in F uses (the exception port), the EAL's file prefix.
LAB_TAP=${LAB_PREFIX}tap
LAB_DPDK_SOCK=$LAB_RUN/ctl/dpdk.sock
LAB_DPDK_TABLES=$LAB_RUN/tables.snap
LAB_DPDK_LOG=$LAB_LOGS/ferry-dpdk.log
LAB_DPDK_LCORES=${FERRY_LAB_DPDK_LCORES:-0-1}
LAB_DPDK_QPAIRS=${FERRY_LAB_DPDK_QPAIRS:-1}
LAB_DPDK_EXCEPTION=${FERRY_LAB_DPDK_EXCEPTION:-tap}
LAB_DPDK_XPEER=${LAB_PREFIX}x # exception pcap: ferry-dpdk's end of the veth
LAB_DPDK_IDLE_US=${FERRY_LAB_DPDK_IDLE_US:-50}
LAB_DPDK_PID=
LAB_DPDK_MARK=0 # lines of ferry-dpdk's log before the current one started
LAB_DPDK_MODE=${FERRY_LAB_DPDK_MODE:-} # config (ferry-dpdk --config) or cli (EAL args --); default: config where ferry-dpdk has --config

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
FERRY_DP_MAC=02:77:02:00:00:03 # F's eth0 under DPDK (the tap has FERRY_MAC)
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
	[ "$LAB_ENGINE" != dpdk ] || lab_require_dpdk
}

# lab_require_dpdk: skip (77) when ferry-dpdk is not built (no DPDK on the
# build machine) or cannot start here: lab_dpdk_probe runs it for a second
# on a throwaway namespace with the lab's EAL arguments (no PCI, no
# hugepages, net_af_packet on a veth, net_tap). Past that, ferry-dpdk not
# coming up in the lab is a failure, not a skip.
lab_require_dpdk() {
	[ -x "$FERRY_DPDK" ] || skip "$FERRY_DPDK not built (DPDK missing when the build was configured)"
	[ ${#LAB_TAP} -le 15 ] || fail "tap name $LAB_TAP is longer than 15 characters: shorten FERRY_LAB_PREFIX"
	[ ${#LAB_DPDK_XPEER} -le 15 ] || fail "veth name $LAB_DPDK_XPEER is longer than 15 characters: shorten FERRY_LAB_PREFIX"
	case $LAB_DPDK_EXCEPTION in
	tap) ;;
	pcap) lab_dpdk_has_pcap || skip "ferry-dpdk's DPDK has no net_pcap (FERRY_LAB_DPDK_EXCEPTION=pcap)" ;;
	*) fail "FERRY_LAB_DPDK_EXCEPTION=$LAB_DPDK_EXCEPTION: tap or pcap" ;;
	esac
	[ -e /dev/net/tun ] || skip "no /dev/net/tun (net_tap needs it)"
	lab_dpdk_has --control || fail "$FERRY_DPDK has no --control (an old build? ninja -C $FERRY_BUILD)"
	lab_dpdk_probe
}

# lab_dpdk_probe: ferry-dpdk for a second, as the lab runs it, on a veth
# in a namespace of its own; skip (77) with its last words if it fails.
lab_dpdk_probe() {
	local ns=ferry-dprobe-$$ fp=fdprobe$$ dir rc=0 out
	dir=$(mktemp -d "${TMPDIR:-/tmp}/ferry-dprobe.XXXXXX")
	ip netns add "$ns" 2>/dev/null || { rm -rf "$dir"; skip "cannot create network namespaces"; }
	ip -n "$ns" link add name eth0 type veth peer name p1 &&
		ip -n "$ns" link set dev eth0 up && ip -n "$ns" link set dev p1 up || rc=1
	[ $rc -ne 0 ] || [ "$LAB_DPDK_EXCEPTION" != pcap ] ||
		lab_dpdk_xveth "$ns" "${fp}t" "${fp}x" || rc=1
	if [ $rc -eq 0 ]; then
		# shellcheck disable=SC2046 # lab_dpdk_lcore_args: two words
		ip netns exec "$ns" timeout -k 5 30 "$FERRY_DPDK" $(lab_dpdk_lcore_args) --no-pci \
			--no-huge -m 256 --file-prefix "$fp" --log-level 'lib.*:notice' \
			--vdev "$(lab_dpdk_af_packet eth0)" --vdev "$(lab_dpdk_exception "${fp}t" "${fp}x")" -- \
			--control "$dir/ctl.sock" --tables "$dir/tables.snap" --exception-port 1 \
			--idle-sleep-us 1000 --run-for 1 >"$dir/log" 2>&1 </dev/null || rc=$?
	fi
	# its own words and the EAL's complaints, not the usage text after them
	out=$(grep -E '^ferry-dpdk:|^EAL: .*([Ii]nvalid|[Ff]ail|[Ee]rror|[Cc]annot|unavailable|[Nn]o )|^[a-z_]+\(\): .*([Ff]ail|[Ee]rror|[Cc]annot)' \
		"$dir/log" 2>/dev/null | tail -n 4 | tr '\n' ' ')
	[ -n "$out" ] || out=$(grep -v '^stats ' "$dir/log" 2>/dev/null | tail -n 4 | tr '\n' ' ')
	ip netns del "$ns" 2>/dev/null || true
	lab_dpdk_leftovers "$fp"
	rm -rf "$dir"
	[ $rc -eq 0 ] || skip "ferry-dpdk cannot start here (EAL $(lab_dpdk_lcore_args) --no-huge, $(lab_dpdk_af_packet eth0) on a veth, $(lab_dpdk_exception "${fp}t" "${fp}x")): exit $rc: $out"
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

# lab_destroy PREFIX: remove every namespace, process and mount of PREFIX,
# and what a ferry-dpdk of PREFIX left (its EAL runtime directory and
# hugepage files: the EAL's --file-prefix is PREFIX).
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
	lab_dpdk_leftovers "$prefix"
}

lab_dpdk_leftovers() { # PREFIX: an EAL of --file-prefix PREFIX left behind
	local m
	rm -rf "/var/run/dpdk/$1"
	while read -r m; do
		rm -f "$m/$1"map_* 2>/dev/null || true
	done < <(awk '$3 == "hugetlbfs" { print $2 }' /proc/mounts 2>/dev/null)
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
		lab_stop_dpdk TERM
		[ ${#LAB_PIDS[@]} -eq 0 ] || lab_kill_pids "${LAB_PIDS[@]}"
		local keep=${FERRY_LAB_KEEP:-}
		if [ -z "$keep" ] && [ "$rc" -ne 0 ]; then
			keep=${TMPDIR:-/tmp}/ferry-lab-$LAB_PREFIX-logs
			if [ -s "$LAB_FERRYD_LOG" ]; then
				lab_log "last lines of ferryd's log:"
				tail -n 10 "$LAB_FERRYD_LOG" | sed 's/^/    /' >&2
			fi
			if [ -s "$LAB_DPDK_LOG" ]; then
				lab_log "last lines of ferry-dpdk's log:"
				tail -n 10 "$LAB_DPDK_LOG" | sed 's/^/    /' >&2
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
	if [ "$LAB_ENGINE" = dpdk ]; then
		# ferry-dpdk's data port: the kernel keeps out (no address, no
		# ARP answers, no IPv6), and its MAC is not the one R resolves
		# FERRY_ADDR to (the tap's), so the kernel drops what arrives
		# here as another host's; af_packet sees it all (promiscuous).
		nsysctl "$NS_F" net.ipv6.conf.eth0.disable_ipv6 1
		ip -n "$NS_F" link set dev eth0 address $FERRY_DP_MAC mtu $LAB_MTU arp off up
	else
		ip -n "$NS_F" link set dev eth0 address $FERRY_MAC mtu $LAB_MTU up
		ip -n "$NS_F" addr add $FERRY_ADDR/24 dev eth0
		ip -n "$NS_F" route add default via 10.77.2.1
		# XDP_TX from F's eth0 arrives at f0 only if f0 runs an XDP program.
		ip -n "$NS_R" link set dev f0 xdp obj "$FERRY_BUILD/bpf/pass.bpf.o" sec xdp ||
			fail "cannot attach pass.bpf.o to the router's f0"
	fi
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

	# DPDK: Ferry's address lives on ferry-dpdk's tap: start it now.
	if [ "$LAB_ENGINE" = dpdk ] && [ "$LAB_DPDK_EXCEPTION" = pcap ]; then
		lab_dpdk_xveth "$NS_F" "$LAB_TAP" "$LAB_DPDK_XPEER" ||
			fail "cannot make the exception veth $LAB_TAP/$LAB_DPDK_XPEER in $NS_F"
	fi
	[ "$LAB_ENGINE" != dpdk ] || lab_start_dpdk
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
	# DPDK: the backend's answers to ferryd's probes reach the kernel in F
	# through af_packet and the tap, which keep a partial checksum bad.
	if [ "$LAB_ENGINE" = dpdk ]; then
		nsx "$ns" ethtool -K eth0 tx off >/dev/null 2>&1 ||
			fail "ethtool -K eth0 tx off failed in $ns"
	fi
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

# lab_hold_and_stream RES DEADLINE: the load a kill test keeps up across
# the kill: HOLD TCP connections per client held open, a line every GAP s
# (until RES/stop exists, at most DEADLINE s), and from client 1 a
# sequence-numbered UDP stream (UDP_RATE/s over UDP_FLOWS source ports from
# UDP_SPORT, UDP_SECS s) whose report lands in RES/useq.json; sets USEQ_PID.
lab_hold_and_stream() {
	local res=$1 deadline=$2
	lab_log "$((HOLD * LAB_NCLIENTS)) TCP connections, a line every ${GAP}s each"
	lab_clients_bg "$res" hold hold --host $VIP --port $VIP_TCP_PORT --conns $HOLD \
		--gap $GAP --timeout 3 --stop-file "$res/stop" --ready "$res/hold-{c}.ready" \
		--deadline "$deadline"
	wait_for 20 "every TCP connection up" ls "$res"/hold-{1..3}.ready ||
		fail "the TCP connections did not come up: $(tail -n 3 "$LAB_LOGS/client-hold.err" 2>/dev/null)"
	lab_log "UDP stream: $UDP_RATE datagrams/s over $UDP_FLOWS flows for ${UDP_SECS}s"
	nsx "${NS_C[0]}" timeout 60 "$PYTHON" "$LAB_DIR/lbclient.py" useq --host $VIP \
		--port $VIP_UDP_PORT --flows $UDP_FLOWS --sport $UDP_SPORT --rate $UDP_RATE \
		--duration $UDP_SECS --linger 3 >"$res/useq.json" 2>>"$LAB_LOGS/client-useq.err" &
	USEQ_PID=$!
	LAB_PIDS+=("$USEQ_PID")
	sleep 2
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
		printf '# ferry.conf of the netns lab %s (written by tests/lab/lib.sh)\n' "$LAB_PREFIX"
		lab_conf_dataplane
		cat <<EOF

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

# lab_conf_dataplane: the config's dataplane group for LAB_ENGINE.
lab_conf_dataplane() {
	if [ "$LAB_ENGINE" = xdp ]; then
		cat <<EOF
dataplane = {
  engine = "xdp";
  interface = "eth0";
  xdp_mode = "native";
  bpffs = "$LAB_BPFFS";
  next_hop_mac = "$ROUTER_F_MAC";
  encap_source_v4 = "$FERRY_ADDR";
  mtu = $LAB_MTU;
};
EOF
		return 0
	fi
	local eal
	eal=$(lab_dpdk_eal | awk '{ printf "%s\"%s\"", (NR > 1 ? ", " : ""), $0 }')
	cat <<EOF
dataplane = {
  engine = "dpdk";
  interface = "$LAB_TAP";
  next_hop_mac = "$ROUTER_F_MAC";
  encap_source_v4 = "$FERRY_ADDR";
  mtu = $LAB_MTU;
  dpdk = {
    control = "$LAB_DPDK_SOCK";
    tables = "$LAB_DPDK_TABLES";
    eal = [ $eal ];
    exception_port = 1;
    idle_sleep_us = $LAB_DPDK_IDLE_US;
  };
};
EOF
}

# ---- ferry-dpdk (LAB_ENGINE=dpdk) ---------------------------------------------
# lab_dpdk_eal: ferry-dpdk's EAL arguments, one a line: no PCI, no
# hugepages, the run's file prefix; port 0 net_af_packet on F's eth0 (the
# data port), port 1 net_tap (the exception port, the kernel's interface).
lab_dpdk_eal() {
	# shellcheck disable=SC2046 # lab_dpdk_lcore_args: two words
	printf '%s\n' $(lab_dpdk_lcore_args) --no-pci --no-huge -m 256 \
		--file-prefix "$LAB_PREFIX" --log-level 'lib.*:notice' \
		--vdev "$(lab_dpdk_af_packet eth0)" \
		--vdev "$(lab_dpdk_exception "$LAB_TAP" "$LAB_DPDK_XPEER")"
}

# lab_dpdk_exception TAP XPEER: the exception port's vdev: net_tap making
# TAP, or (FERRY_LAB_DPDK_EXCEPTION=pcap) net_pcap on XPEER, the veth end
# facing TAP: what the kernel sends arrives there (rx_iface_in: not what
# ferry-dpdk sends), a TX queue per worker.
lab_dpdk_exception() {
	if [ "$LAB_DPDK_EXCEPTION" = tap ]; then
		echo "net_tap0,iface=$1,mac=$FERRY_MAC"
		return
	fi
	local v="net_pcap0,rx_iface_in=$2" w
	for w in $(lab_dpdk_workers); do v+=",tx_iface=$2"; done
	echo "$v"
}

# lab_dpdk_has_pcap: ferry-dpdk's DPDK has the net_pcap driver.
lab_dpdk_has_pcap() {
	ldd "$FERRY_DPDK" 2>/dev/null | grep -q 'librte_net_pcap' ||
		ls /usr/lib/*/dpdk/pmds-*/librte_net_pcap.so* >/dev/null 2>&1 ||
		ls /usr/lib/*/librte_net_pcap.so* >/dev/null 2>&1
}

# lab_dpdk_xveth NS TAP XPEER: the pcap exception path's veth pair in NS:
# TAP for the kernel (checksums filled in: no partial checksum reaches the
# wire through pcap), XPEER for ferry-dpdk (no address, no ARP, no IPv6).
lab_dpdk_xveth() {
	ip -n "$1" link add name "$2" type veth peer name "$3" &&
		nsysctl "$1" "net.ipv6.conf.$3.disable_ipv6" 1 &&
		ip -n "$1" link set dev "$3" mtu $LAB_MTU arp off up &&
		ip -n "$1" link set dev "$2" mtu $LAB_MTU up &&
		nsx "$1" ethtool -K "$2" tx off >/dev/null
}

# lab_dpdk_lcore_args: the EAL's lcore option for LAB_DPDK_LCORES, two
# words: -l LIST, or --lcores MAP where it maps lcores to CPUs ("@", "(").
lab_dpdk_lcore_args() {
	case $LAB_DPDK_LCORES in
	*[@\(]*) echo "--lcores $LAB_DPDK_LCORES" ;;
	*) echo "-l $LAB_DPDK_LCORES" ;;
	esac
}

# lab_dpdk_af_packet IFACE: the data port's vdev (LAB_DPDK_QPAIRS queues).
lab_dpdk_af_packet() {
	if [ "$LAB_DPDK_QPAIRS" -gt 1 ]; then
		echo "net_af_packet0,iface=$1,qpairs=$LAB_DPDK_QPAIRS"
	else
		echo "net_af_packet0,iface=$1"
	fi
}

# lab_dpdk_workers: the forwarding lcores' EAL ids, one a line, ascending:
# every lcore of LAB_DPDK_LCORES (ids before "@") but the main lcore, the
# lowest id (the EAL's default main lcore).
lab_dpdk_workers() {
	"$PYTHON" -c '
import re, sys
ids, depth, part, parts = set(), 0, "", []
for ch in sys.argv[1] + ",":
    depth += ch == "("
    depth -= ch == ")"
    if ch == "," and depth == 0:
        parts.append(part)
        part = ""
    else:
        part += ch
for p in parts:
    for r in p.split("@")[0].strip("()").split(","):
        a, _, b = r.partition("-")
        ids.update(range(int(a), int(b or a) + 1))
for i in sorted(ids)[1:]:
    print(i)' "$LAB_DPDK_LCORES"
}

lab_dpdk_alive() { [ -n "$LAB_DPDK_PID" ] && kill -0 "$LAB_DPDK_PID" 2>/dev/null; }

# lab_dpdk_has OPTION: ferry-dpdk's usage mentions OPTION (e.g. --config).
lab_dpdk_has() { "$FERRY_DPDK" --help 2>&1 | grep -q -- "$1"; }

# lab_dpdk_tap_up: the tap is in F (ferry-dpdk made it); the kernel's
# side of F goes on it: FERRY_ADDR/24, the default route to R.
lab_dpdk_tap_up() {
	ip -n "$NS_F" link show dev "$LAB_TAP" >/dev/null 2>&1 || return 1
	ip -n "$NS_F" link set dev "$LAB_TAP" address $FERRY_MAC mtu $LAB_MTU up &&
		ip -n "$NS_F" addr replace $FERRY_ADDR/24 dev "$LAB_TAP" &&
		ip -n "$NS_F" route replace default via 10.77.2.1 dev "$LAB_TAP"
}

# lab_dpdk_failed WHY: ferry-dpdk did not come up (lab_dpdk_probe showed
# that it can here): fail with its last words.
lab_dpdk_failed() {
	fail "ferry-dpdk: $1: $(tail -n "+$((LAB_DPDK_MARK + 1))" "$LAB_DPDK_LOG" | tail -n 6 | tr '\n' ' ')"
}

# lab_start_dpdk: ferry-dpdk in F, in the background (log $LAB_DPDK_LOG):
# `ferry-dpdk --config $LAB_CONF` where it reads the config, else the EAL
# arguments of lab_dpdk_eal and -- --tables ...; waits until its tap is up,
# configures the kernel's side on it and F reaches R through it. A tables
# file left by an earlier ferry-dpdk (or ferryd) is served again.
lab_start_dpdk() {
	local t0=$SECONDS opts=()
	lab_dpdk_alive && fail "lab_start_dpdk: ferry-dpdk already runs (pid $LAB_DPDK_PID)"
	[ -f "$LAB_CONF" ] || lab_write_conf
	mkdir -p "$(dirname "$LAB_DPDK_SOCK")"
	touch "$LAB_DPDK_LOG"
	if [ -z "$LAB_DPDK_MODE" ]; then
		LAB_DPDK_MODE=cli
		lab_dpdk_has --config && LAB_DPDK_MODE=config
	fi
	if [ "$LAB_DPDK_MODE" = config ]; then
		opts=(--config "$LAB_CONF")
	else
		mapfile -t opts < <(lab_dpdk_eal)
		opts+=(-- --tables "$LAB_DPDK_TABLES" --exception-port 1)
		! lab_dpdk_has --control || opts+=(--control "$LAB_DPDK_SOCK")
		! lab_dpdk_has --idle-sleep-us || opts+=(--idle-sleep-us "$LAB_DPDK_IDLE_US")
	fi
	printf '[lab %s] ferry-dpdk %s\n' "$(date +%T)" "${opts[*]}" >>"$LAB_DPDK_LOG"
	LAB_DPDK_MARK=$(wc -l <"$LAB_DPDK_LOG")
	ip netns exec "$NS_F" "$FERRY_DPDK" "${opts[@]}" </dev/null >>"$LAB_DPDK_LOG" 2>&1 &
	LAB_DPDK_PID=$!
	while ! lab_dpdk_tap_up 2>/dev/null; do
		if ! lab_dpdk_alive; then
			lab_dpdk_reap
			lab_dpdk_failed "exited (status $LAB_DPDK_STATUS) before its tap $LAB_TAP came up"
		fi
		[ $((SECONDS - t0)) -lt 30 ] || lab_dpdk_failed "no tap $LAB_TAP in $NS_F after 30s"
		sleep 0.2
	done
	if ! wait_for 20 "F reaches R through ferry-dpdk (tap, af_packet)" \
		nsx "$NS_F" ping -c1 -W1 -q 10.77.2.1; then
		if ! lab_dpdk_alive; then
			lab_dpdk_reap
			lab_dpdk_failed "exited (status $LAB_DPDK_STATUS)"
		fi
		fail "ferry-dpdk runs but F does not reach R through it: $(tail -n 4 "$LAB_DPDK_LOG" | tr '\n' ' ')"
	fi
	lab_log "ferry-dpdk up (pid $LAB_DPDK_PID, $LAB_DPDK_MODE, $((SECONDS - t0)) s)"
}

LAB_DPDK_STATUS=0 # exit status of the last ferry-dpdk reaped
lab_dpdk_reap() {
	LAB_DPDK_STATUS=0
	[ -n "$LAB_DPDK_PID" ] || return 0
	wait "$LAB_DPDK_PID" 2>/dev/null || LAB_DPDK_STATUS=$?
	LAB_DPDK_PID=
}

# lab_stop_dpdk TERM|KILL: stop ferry-dpdk: SIGTERM, up to 3 s grace, then
# SIGKILL (KILL: SIGKILL at once); its exit status in LAB_DPDK_STATUS. Its
# tap goes with it, and with the tap F's address and default route.
lab_stop_dpdk() {
	if lab_dpdk_alive; then
		if [ "$1" = KILL ]; then
			kill -KILL "$LAB_DPDK_PID" 2>/dev/null || true
		else
			lab_kill_pids "$LAB_DPDK_PID"
		fi
	fi
	lab_dpdk_reap
}

# lab_dpdk_info: ferry-dpdk's INFO answer as JSON (lbdpdk.py: pid, boot_id,
# generation, ports), straight from its control socket.
lab_dpdk_info() {
	timeout 10 "$PYTHON" "$LAB_DIR/lbdpdk.py" --socket "$LAB_DPDK_SOCK" info
}

# lab_dataplane_check: the dataplane is in place (a check's detail line):
# XDP: the program on eth0 in native mode; DPDK: ferry-dpdk runs, owns
# eth0 (no address there), serves the tables, F's address on its tap.
lab_dataplane_check() {
	if [ "$LAB_ENGINE" = xdp ]; then
		local m
		m=$(xdp_mode "$NS_F" eth0)
		echo "eth0 in $NS_F: XDP $m"
		[ "$m" = native ]
		return
	fi
	local info gen a4 tap
	lab_dpdk_alive || { echo "ferry-dpdk is not running"; return 1; }
	a4=$(ip -n "$NS_F" -4 -o addr show dev eth0 | awk '{print $4}' | paste -sd' ')
	tap=$(ip -n "$NS_F" -4 -o addr show dev "$LAB_TAP" | awk '{print $4}' | paste -sd' ')
	info=$(lab_dpdk_info 2>&1) || { echo "ferry-dpdk pid $LAB_DPDK_PID; its control socket: $info"; return 1; }
	gen=$(printf '%s\n' "$info" | "$PYTHON" "$LAB_DIR/lbcheck.py" field generation)
	echo "ferry-dpdk pid $LAB_DPDK_PID serves generation $gen; eth0: no XDP ($(xdp_mode "$NS_F" eth0)), IPv4 '${a4:-none}'; $LAB_TAP: $tap"
	[ -z "$a4" ] && [ "$tap" = "$FERRY_ADDR/24" ] && [ "$gen" -gt 0 ] &&
		[ "$(xdp_mode "$NS_F" eth0)" = none ]
}

ferryd_alive() { [ -n "$FERRYD_PID" ] && kill -0 "$FERRYD_PID" 2>/dev/null; }

# ferryd_ready: 0 once the log says "ready", or once --stats reads the
# pinned maps and eth0 carries the program (maps are pinned before the
# program is attached, so --stats alone is too early); 2 if ferryd died.
ferryd_ready() {
	ferryd_alive || return 2
	tail -n "+$((LAB_FERRYD_MARK + 1))" "$LAB_FERRYD_LOG" | grep -qiw ready && return 0
	# DPDK: only the log (ferry-dpdk answers --stats with or without ferryd)
	[ "$LAB_ENGINE" = xdp ] || return 1
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
	[ "$LAB_ENGINE" = xdp ] || lab_dpdk_alive ||
		fail "ferry-dpdk is not running (lab_start_dpdk before ferryd)"
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
	if [ "$LAB_ENGINE" = xdp ]; then
		wait_for 5 "an XDP program on eth0 in $NS_F" xdp_attached "$NS_F" eth0 ||
			fail "ferryd says ready but eth0 in $NS_F has no XDP program"
	elif ! lab_dpdk_alive; then
		lab_dpdk_reap
		fail "ferry-dpdk exited (status $LAB_DPDK_STATUS): $(tail -n 5 "$LAB_DPDK_LOG" | tr '\n' ' ')"
	fi
	lab_log "ferryd ready (pid $FERRYD_PID, $LAB_ENGINE)"
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
