#!/usr/bin/env bash
# tests/deps.sh: idempotent install of everything Ferry builds and tests with on Debian 12 (installs only what dpkg-query says is missing).
set -euo pipefail

PACKAGES=(
	build-essential clang llvm meson ninja-build pkg-config
	libbpf-dev bpftool libelf-dev zlib1g-dev libconfig-dev libjemalloc-dev
	libcmocka-dev libclang-rt-14-dev libjson-c-dev libsystemd-dev
	libssl-dev
	libmicrohttpd-dev
	iproute2 ethtool python3 iputils-ping procps
	freeradius freeradius-utils
	prometheus
	bird2
	libdpdk-dev dpdk-dev
)

# FreeRADIUS is for the radius lab test, which runs its own in a namespace.
# The package enables (and, where policy allows, starts) a system service on
# 1812/1813: stop and disable it, on every run (idempotent).
freeradius_service_off() {
	local root=()
	[ "$(dpkg-query -W -f='${db:Status-Status}' freeradius 2>/dev/null || true)" = installed ] ||
		return 0
	[ "$(id -u)" -eq 0 ] || root=(sudo -n)
	if [ -d /run/systemd/system ]; then
		if systemctl is-active --quiet freeradius.service ||
			systemctl is-enabled --quiet freeradius.service 2>/dev/null; then
			echo "deps: stopping and disabling the freeradius system service"
			"${root[@]}" systemctl disable --now freeradius.service >/dev/null 2>&1 || true
		fi
		return 0
	fi
	# No systemd running (a container): the init script, its rc links, and
	# the unit's link for a later boot under systemd.
	if /etc/init.d/freeradius status >/dev/null 2>&1; then
		echo "deps: stopping the freeradius system service"
		"${root[@]}" /etc/init.d/freeradius stop >/dev/null 2>&1 || true
	fi
	if compgen -G '/etc/rc[2-5].d/S*freeradius' >/dev/null; then
		echo "deps: disabling the freeradius system service"
		"${root[@]}" update-rc.d freeradius disable >/dev/null 2>&1 || true
	fi
	if [ -L /etc/systemd/system/multi-user.target.wants/freeradius.service ]; then
		"${root[@]}" rm -f /etc/systemd/system/multi-user.target.wants/freeradius.service || true
	fi
}

# Prometheus is for the metrics lab test (promtool, and a server it runs in
# the lab's namespace). The package enables (and, where policy allows,
# starts) a system service on :9090: stopped and disabled right after this
# script installs the package, and only then, so that a machine whose own
# Prometheus is in use (scraping ferryd, conf/prometheus/) keeps it.
prometheus_service_off() {
	local root=()
	[ "$(dpkg-query -W -f='${db:Status-Status}' prometheus 2>/dev/null || true)" = installed ] ||
		return 0
	[ "$(id -u)" -eq 0 ] || root=(sudo -n)
	if [ -d /run/systemd/system ]; then
		if systemctl is-active --quiet prometheus.service ||
			systemctl is-enabled --quiet prometheus.service 2>/dev/null; then
			echo "deps: stopping and disabling the prometheus system service"
			"${root[@]}" systemctl disable --now prometheus.service >/dev/null 2>&1 || true
		fi
		return 0
	fi
	if [ -x /etc/init.d/prometheus ] && /etc/init.d/prometheus status >/dev/null 2>&1; then
		echo "deps: stopping the prometheus system service"
		"${root[@]}" /etc/init.d/prometheus stop >/dev/null 2>&1 || true
	fi
	if compgen -G '/etc/rc[2-5].d/S*prometheus' >/dev/null; then
		echo "deps: disabling the prometheus system service"
		"${root[@]}" update-rc.d prometheus disable >/dev/null 2>&1 || true
	fi
	if [ -L /etc/systemd/system/multi-user.target.wants/prometheus.service ]; then
		"${root[@]}" rm -f /etc/systemd/system/multi-user.target.wants/prometheus.service || true
	fi
}

# BIRD 2 is for the ECMP lab test, which runs its own BIRDs in namespaces.
# The package enables (and, where policy allows, starts) a system service:
# stopped and disabled right after this script installs the package, and
# only then, so that a machine whose own BIRD is in use (a Ferry machine
# announcing VIPs) keeps it.
bird_service_off() {
	local root=()
	[ "$(id -u)" -eq 0 ] || root=(sudo -n)
	echo "deps: stopping and disabling the bird system service (just installed; the lab runs its own)"
	if [ -d /run/systemd/system ]; then
		"${root[@]}" systemctl disable --now bird.service >/dev/null 2>&1 || true
		return 0
	fi
	if [ -x /etc/init.d/bird ]; then # has no status: stop is idempotent
		"${root[@]}" /etc/init.d/bird stop >/dev/null 2>&1 || true
	fi
	if compgen -G '/etc/rc[2-5].d/S*bird' >/dev/null; then
		"${root[@]}" update-rc.d bird disable >/dev/null 2>&1 || true
	fi
	if [ -L /etc/systemd/system/multi-user.target.wants/bird.service ]; then
		"${root[@]}" rm -f /etc/systemd/system/multi-user.target.wants/bird.service || true
	fi
}

missing=()
for p in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#PACKAGES[@]} packages installed"
	freeradius_service_off
	exit 0
fi

echo "deps: installing ${missing[*]}"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || {
		echo "deps: not root and no sudo; install as root: apt-get install ${missing[*]}" >&2
		exit 1
	}
	SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -q --no-install-recommends "${missing[@]}"

freeradius_service_off
[[ " ${missing[*]} " != *" prometheus "* ]] || prometheus_service_off
[[ " ${missing[*]} " != *" bird2 "* ]] || bird_service_off
