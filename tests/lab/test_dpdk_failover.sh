#!/usr/bin/env bash
# tests/lab/test_dpdk_failover.sh: backend failure with engine = "dpdk": test_ferryd_failover.sh's scenario (a backend's server SIGKILLed under load: no new flow reaches it within fall x interval + 1 s, the others' connections live on) and test_health.sh's (down, no new flows, back up, flows again), each in a lab of its own over ferry-dpdk. Exit 77 when ferry-dpdk is not built or cannot start here.
set -uo pipefail
export LAB_ENGINE=dpdk
here=$(dirname "$0")
rc=0
for t in test_ferryd_failover.sh test_health.sh; do
	echo "== $t (engine dpdk)"
	r=0
	bash "$here/$t" "$@" || r=$?
	case $r in
	0) ;;
	77) [ "$rc" -ne 0 ] || exit 77 ;; # the machine cannot run it: neither runs
	*) rc=1 ;;
	esac
done
exit "$rc"
