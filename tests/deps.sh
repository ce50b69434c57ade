#!/usr/bin/env bash
# tests/deps.sh: idempotent install of everything Ferry builds and tests with on Debian 12 (installs only what dpkg-query says is missing).
set -euo pipefail

PACKAGES=(
	build-essential clang llvm meson ninja-build pkg-config
	libbpf-dev bpftool libelf-dev zlib1g-dev libconfig-dev libjemalloc-dev
	libcmocka-dev libclang-rt-14-dev libjson-c-dev libsystemd-dev
	iproute2 ethtool python3 iputils-ping procps
)

missing=()
for p in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#PACKAGES[@]} packages installed"
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
