#!/usr/bin/env bash
# tests/lab/test_dpdk_metrics.sh: test_metrics.sh's scenario with engine = "dpdk": ferryd's /metrics over ferry-dpdk (promtool-valid, counters equal to what the backends received, PromQL, alerts, stats --watch), engine "dpdk" on the tap, ferry_lcore_packets_total per forwarding lcore, conntrack capacity per lcore, ferry-dpdk's own counters against its ports and the kernel's traffic. Exit 77 when ferry-dpdk is not built or cannot start here.
export LAB_ENGINE=dpdk
exec bash "$(dirname "$0")/test_metrics.sh" "$@"
