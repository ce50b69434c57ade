#!/usr/bin/env python3
# tests/lab/lbdpdk.py: the lab's client of ferry-dpdk's control socket (dataplane/dp_ctl.h): what ferry-dpdk itself says it serves, without ferryd.
"""One request per connection, as dataplane/dp_ctl.h describes: a 32-byte
header (magic "FCT1", version, op, status, generation, pad, payload length,
host byte order), then the payload; the reply has the same shape.

  info   prints JSON: generation (the live one, 0: none), status, pid,
         boot_id (random per process: a change is a restart), nlcores,
         flows, align, started_ns, ports [{port, data, link_up, mac,
         ipackets, opackets, imissed, ierrors, oerrors}]
Exit 0 with the JSON, 1 with a message when nobody answers or the answer
is not the protocol's.
"""
import argparse
import json
import socket
import struct
import sys

MAGIC = 0x31544346  # "FCT1"
VERSION = 1
OP_INFO = 1
HDR = struct.Struct("=IIIiIIQ")  # struct dp_ctl_msg (32 bytes)
INFO = struct.Struct("=QIIIIIIQ")  # struct dp_ctl_info up to port[] (40 bytes)
PORT = struct.Struct("=HBB6s6sQQQQQ")  # struct dp_ctl_port (56 bytes)
MAX_PORTS = 32


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise SystemExit(f"ferry-dpdk closed the connection after {len(buf)}/{n} bytes")
        buf += chunk
    return buf


def call(path, op, timeout):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        try:
            s.connect(path)
        except OSError as e:
            raise SystemExit(f"{path}: {e.strerror or e}")
        s.sendall(HDR.pack(MAGIC, VERSION, op, 0, 0, 0, 0))
        magic, version, rop, status, gen, _, length = HDR.unpack(recv_exact(s, HDR.size))
        if magic != MAGIC or version != VERSION or rop != op:
            raise SystemExit(f"{path}: not ferry-dpdk's protocol (magic {magic:#x}, "
                             f"version {version}, op {rop})")
        if length > (64 << 20):
            raise SystemExit(f"{path}: reply of {length} bytes")
        return status, gen, recv_exact(s, length)


def cmd_info(a):
    status, gen, payload = call(a.socket, OP_INFO, a.timeout)
    out = {"generation": gen, "status": status}
    if status == 0:
        want = INFO.size + MAX_PORTS * PORT.size
        if len(payload) != want:
            raise SystemExit(f"info: {len(payload)} bytes, want {want}")
        boot, pid, nl, flows, align, nports, _, started = INFO.unpack_from(payload)
        ports = []
        for i in range(min(nports, MAX_PORTS)):
            p = PORT.unpack_from(payload, INFO.size + i * PORT.size)
            ports.append({"port": p[0], "data": bool(p[1]), "link_up": bool(p[2]),
                          "mac": ":".join(f"{b:02x}" for b in p[3]),
                          "ipackets": p[5], "opackets": p[6], "imissed": p[7],
                          "ierrors": p[8], "oerrors": p[9]})
        out.update(pid=pid, boot_id=f"{boot:016x}", nlcores=nl, flows=flows,
                   align="trust" if align else "slide", started_ns=started, ports=ports)
    print(json.dumps(out))
    return 0 if status == 0 else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--socket", required=True, help="ferry-dpdk's control socket")
    p.add_argument("--timeout", type=float, default=5.0)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("info", help="INFO: generation, pid, boot_id, ports")
    a = p.parse_args()
    return {"info": cmd_info}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
