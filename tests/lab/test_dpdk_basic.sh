#!/usr/bin/env bash
# tests/lab/test_dpdk_basic.sh: test_basic.sh's scenario with engine = "dpdk": ferry-dpdk on F's eth0 (net_af_packet) with a tap exception port: TCP/UDP through the VIP spread over every backend, the client's address seen by the backends, per-flow stickiness, full-size frames, Ferry's own address through the tap, ferryd --stats. Exit 77 when ferry-dpdk is not built or cannot start here.
export LAB_ENGINE=dpdk
exec bash "$(dirname "$0")/test_basic.sh" "$@"
