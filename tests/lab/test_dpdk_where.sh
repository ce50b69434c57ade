#!/usr/bin/env bash
# tests/lab/test_dpdk_where.sh: test_ferryd_where.sh's scenario with engine = "dpdk": `ferryctl where` names the backend that answered each of 100+ TCP and some UDP flows, asked before and after they ran (ferry-dpdk's conntrack is its own: where answers from the tables, by ring, both times); a destination that is no VIP gives verdict pass. Exit 77 when ferry-dpdk is not built or cannot start here.
export LAB_ENGINE=dpdk
exec bash "$(dirname "$0")/test_ferryd_where.sh" "$@"
