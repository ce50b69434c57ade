#!/usr/bin/env python3
# tests/lab/lbserver.py: the lab's backend (and Ferry-host) service: TCP and UDP echo of "name peer port", every connection/datagram logged.
"""A tiny TCP + UDP server for the netns lab.

Every request line (TCP) or datagram (UDP) is answered with one line:
    "<name> <peer address> <peer port>\n"
so a client learns which backend served it and which source address the
backend saw. A request whose first word is "seq=N" gets that word back as
a fourth field ("<name> <peer address> <peer port> seq=N"), so a client can
match answers to requests. Every TCP connection, TCP message and UDP
datagram is logged to --log as one line, with the local address it arrived
on (the VIP, or the node's own address for ferryd's health probes):
    tcp-conn <name> <peer> <port> <local>
    tcp-msg  <name> <peer> <port> <local>
    udp      <name> <peer> <port> <local>
When every socket listens, --ready FILE is created.
"""
import argparse
import asyncio
import os
import signal
import sys


class Log:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1) if path else None

    def write(self, kind, name, peer, local):
        if self.f:
            self.f.write(f"{kind} {name} {peer[0]} {peer[1]} {local}\n")


def answer(name, peer, request=b""):
    tag = request[:32].split(None, 1)
    if tag and tag[0].startswith(b"seq="):
        return f"{name} {peer[0]} {peer[1]} {tag[0].decode(errors='replace')}\n".encode()
    return f"{name} {peer[0]} {peer[1]}\n".encode()


async def serve_tcp(args, log):
    async def handle(reader, writer):
        peer = writer.get_extra_info("peername")[:2]
        local = writer.get_extra_info("sockname")[0]
        log.write("tcp-conn", args.name, peer, local)
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                log.write("tcp-msg", args.name, peer, local)
                writer.write(answer(args.name, peer, line))
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, args.tcp_addr or args.addr, args.tcp,
                                      reuse_address=True, backlog=1024)


class Udp(asyncio.DatagramProtocol):
    def __init__(self, args, log):
        self.args, self.log, self.tr = args, log, None

    def connection_made(self, transport):
        self.tr = transport

    def datagram_received(self, data, peer):
        self.log.write("udp", self.args.name, peer[:2], self.args.addr)
        self.tr.sendto(answer(self.args.name, peer[:2], data), peer)


async def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--name", required=True)
    p.add_argument("--addr", default="0.0.0.0",
                   help="bind address (the VIP on backends, so UDP answers leave from it)")
    p.add_argument("--tcp-addr", default="",
                   help="TCP bind address if not --addr (0.0.0.0 on backends: "
                        "the VIP and the node address, where health probes go)")
    p.add_argument("--tcp", type=int, default=0, help="TCP port (0: none)")
    p.add_argument("--udp", type=int, default=0, help="UDP port (0: none)")
    p.add_argument("--log", default="")
    p.add_argument("--ready", default="")
    args = p.parse_args()

    log = Log(args.log)
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))

    servers = []
    if args.tcp:
        servers.append(await serve_tcp(args, log))
    if args.udp:
        tr, _ = await loop.create_datagram_endpoint(
            lambda: Udp(args, log), local_addr=(args.addr, args.udp))
        servers.append(tr)
    if args.ready:
        with open(args.ready + ".tmp", "w") as f:
            f.write(f"{os.getpid()}\n")
        os.rename(args.ready + ".tmp", args.ready)
    await stop
    for s in servers:
        s.close()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
