#!/usr/bin/env bash
# tests/lab/test_dpdk_add_backend.sh: test_ferryd_add_backend.sh's scenario with engine = "dpdk": a 4th backend joins lab-tcp by `ferryctl reload` and lab-udp by SIGHUP while ferry-dpdk forwards; established TCP connections and UDP flows survive (zero resets, no flow moves), new flows reach it. Exit 77 when ferry-dpdk is not built or cannot start here.
export LAB_ENGINE=dpdk
exec bash "$(dirname "$0")/test_ferryd_add_backend.sh" "$@"
