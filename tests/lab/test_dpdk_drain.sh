#!/usr/bin/env bash
# tests/lab/test_dpdk_drain.sh: test_ferryd_drain.sh's scenario with engine = "dpdk": `ferryctl drain b1` keeps b1's established connections working and sends it no new flow; `ferryctl undrain b1` gives it new flows again, all over ferry-dpdk. Exit 77 when ferry-dpdk is not built or cannot start here.
export LAB_ENGINE=dpdk
exec bash "$(dirname "$0")/test_ferryd_drain.sh" "$@"
