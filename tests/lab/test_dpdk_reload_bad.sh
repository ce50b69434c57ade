#!/usr/bin/env bash
# tests/lab/test_dpdk_reload_bad.sh: test_ferryd_reload_bad.sh's scenario with engine = "dpdk": broken configs refused by `ferryctl reload` and SIGHUP (FILE:LINE: message, generation kept, ferry-dpdk's traffic unaffected), then a good one changing one VIP's weight (generation + 1, the other VIP's ring untouched). Exit 77 when ferry-dpdk is not built or cannot start here.
export LAB_ENGINE=dpdk
exec bash "$(dirname "$0")/test_ferryd_reload_bad.sh" "$@"
