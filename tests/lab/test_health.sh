#!/usr/bin/env bash
# tests/lab/test_health.sh: health checking in the netns lab: a backend whose service stops gets no new flows, and gets them back once it answers again. (LAB_ENGINE=dpdk: the same over ferry-dpdk, test_dpdk_failover.sh)
# shellcheck disable=SC2317 # check helpers are called through check()
set -euo pipefail
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"

# Fast probes: down after 2 failures 200 ms apart, up after 2 successes.
LAB_HEALTH="interval = 200; timeout = 100; rise = 2; fall = 2;"
VICTIM=1 # the backend whose service stops
VNAME=$(backend_name $VICTIM)

lab_require
lab_require_ferryd
lab_trap "${FERRY_LAB_TIMEOUT:-150}"
lab_up
lab_start_servers
lab_start_ferryd

RES=$LAB_LOGS/results
mkdir -p "$RES"
CHECK=("$PYTHON" "$LAB_DIR/lbcheck.py")
ALL=$(for i in $(seq 1 $LAB_NBACKENDS); do backend_name "$i"; done | paste -sd,)
OTHERS=$(for i in $(seq 1 $LAB_NBACKENDS); do [ "$i" -eq $VICTIM ] || backend_name "$i"; done | paste -sd,)

clients() { lab_clients "$RES" "$@"; } # TAG ARGS...: every client at once
tcp_round() { # TAG
	clients "$1" tcp --host $VIP --port $VIP_TCP_PORT --conns 40 --concurrency 10 \
		--timeout 3 --deadline 30
}
udp_round() { # TAG
	clients "$1" udp --host $VIP --port $VIP_UDP_PORT --flows 15 --count 2 \
		--timeout 1 --retries 2 --deadline 20
}

# reported FROM WORD VIPNAME: a line of ferryd's log after line FROM names
# the victim, the VIP and WORD (down / up).
reported() {
	tail -n "+$(($1 + 1))" "$LAB_FERRYD_LOG" | grep -w "$VNAME" | grep -w "$3" | grep -iw "$2"
}
# wait_reported FROM WORD: both VIPs report the victim WORD within 10 s.
wait_reported() {
	local from=$1 word=$2 t0=$SECONDS v out=""
	for v in lab-tcp lab-udp; do
		if ! wait_for 10 "ferryd reports $VNAME $word on $v" reported "$from" "$word" "$v"; then
			echo "no '$VNAME ... $v ... $word' line in ferryd's log within 10 s"
			return 1
		fi
		out+="$(reported "$from" "$word" "$v" | tail -n 1); "
	done
	echo "${out}after $((SECONDS - t0)) s"
}

lab_log "all backends up"
tcp_round before
check "all up: TCP spreads over every backend" \
	"${CHECK[@]}" spread --backends "$ALL" --min 0.15 --max 0.55 "$RES"/before-c*.json

lab_log "stopping $VNAME's service"
MARK=$(wc -l <"$LAB_FERRYD_LOG")
lab_stop_backend $VICTIM
check "ferryd reports $VNAME down on both VIPs" wait_reported "$MARK" down
tcp_round down
udp_round udpdown
check "$VNAME down: every TCP connection completes" \
	"${CHECK[@]}" complete --min $((40 * LAB_NCLIENTS)) "$RES"/down-c*.json
check "$VNAME down: TCP goes to the others only" \
	"${CHECK[@]}" spread --backends "$OTHERS" --min 0.25 --max 0.75 "$RES"/down-c*.json
check "$VNAME down: every UDP flow answered" \
	"${CHECK[@]}" complete --min $((15 * LAB_NCLIENTS)) "$RES"/udpdown-c*.json
check "$VNAME down: UDP goes to the others only" \
	"${CHECK[@]}" spread --backends "$OTHERS" --min 0.15 --max 0.85 "$RES"/udpdown-c*.json

lab_log "starting $VNAME's service again"
MARK=$(wc -l <"$LAB_FERRYD_LOG")
lab_start_backend $VICTIM
wait_for 10 "$VNAME listening again" ls "$LAB_RUN/$VNAME.ready" || fail "$VNAME did not restart"
check "ferryd reports $VNAME up again on both VIPs" wait_reported "$MARK" up
tcp_round after
check "$VNAME up again: every TCP connection completes" \
	"${CHECK[@]}" complete --min $((40 * LAB_NCLIENTS)) "$RES"/after-c*.json
check "$VNAME up again: TCP spreads over every backend" \
	"${CHECK[@]}" spread --backends "$ALL" --min 0.15 --max 0.55 "$RES"/after-c*.json

lab_summary
