#!/usr/bin/env python3
# tests/lab/lbclient.py: the lab's traffic generator: K TCP connections or F UDP flows to a VIP, results as JSON.
"""Lab client for Ferry's netns lab.

tcp: opens --conns connections (at most --concurrency at once); each
     connects, sends --msgs lines (waiting for each answer, --gap seconds
     apart), then closes.
     With --sports P1,P2,...: one connection from each of these source
     ports (bound on --bind), instead of --conns ephemeral ones.
udp: --flows sockets, each with its own source port, sends --count
     datagrams and waits for each answer (resent up to --retries times).
hold: --conns long-lived connections, all open at once; each sends a line
     every --gap seconds and reads its answer, until --duration seconds
     have passed or --stop-file exists. A connection that fails is not
     reopened: its error and the time of it are recorded. --ready FILE is
     written once every connection has had its first answer (or failed).
open: new short connections (connect, one line, answer, close) at --rate
     per second, until --duration or --stop-file; each records its start
     time, so a test can tell where connections opened after an instant
     went. At most --concurrency at once.
useq: one steady UDP stream: --rate datagrams per second in all, round
     robin over --flows sockets (source ports), for --duration seconds;
     datagram n carries "seq=n" (echoed by the server), never resent.
     Then --linger seconds for late answers. Per flow: sent, answered,
     missing sequence numbers.

The server (lbserver.py) answers "<backend> <seen address> <seen port>"
(plus "seq=N" when the request starts with it). Prints one JSON object:
  {"mode", "target", "ok", "failed", "results": [
     {"ok", "local": "ip:port", "backend", "backends": [...],
      "seen": ["ip:port", ...], "answers", "error", ...}]}
hold adds per connection "connected_at", "last_answer_at", "error_at"
(Unix times, float); open adds "start", "end"; useq adds "sent",
"missing" (per flow) and, at the top, "sent", "answered", "lost".
Every wait is bounded by --timeout; the whole run by --deadline.
"""
import argparse
import asyncio
import json
import os
import random
import socket
import sys
import time


def payload(args, text):
    """text padded with '.' to --size bytes (newline included)."""
    pad = max(0, args.size - len(text) - 2)
    return f"{text} {'.' * pad}\n".encode() if pad else f"{text}\n".encode()


def summarize(ok, local, answers, error=None):
    names = sorted({a[0] for a in answers})
    seen = sorted({f"{a[1]}:{a[2]}" for a in answers if len(a) >= 3})
    return {
        "ok": ok and error is None,
        "local": local,
        "backend": answers[0][0] if answers else None,
        "backends": names,
        "seen": seen,
        "answers": len(answers),
        "error": error,
    }


def errtext(e):
    return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__


async def connect(args, i):
    """A connection to the target; from source port --sports[i] if given."""
    local = None
    if args.sports:
        local = (args.bind, args.sports[i])
    return await asyncio.wait_for(
        asyncio.open_connection(args.host, args.port, local_addr=local),
        args.timeout)


async def tcp_one(args, sem, i):
    async with sem:
        local, answers, w = None, [], None
        try:
            r, w = await connect(args, i)
            sock = w.get_extra_info("sockname")
            local = f"{sock[0]}:{sock[1]}"
            for m in range(args.msgs):
                w.write(payload(args, f"conn {i} msg {m}"))
                await w.drain()
                line = await asyncio.wait_for(r.readline(), args.timeout)
                if not line:
                    raise ConnectionError("closed by peer before answering")
                answers.append(line.decode().split())
                if args.gap and m + 1 < args.msgs:
                    await asyncio.sleep(args.gap)
            w.close()
            await asyncio.wait_for(w.wait_closed(), args.timeout)
            return summarize(True, local, answers)
        except Exception as e:  # noqa: BLE001 - reported, not raised
            if w:
                w.close()
            return summarize(False, local, answers, errtext(e))


async def run_tcp(args):
    sem = asyncio.Semaphore(args.concurrency)
    tasks = [asyncio.ensure_future(tcp_one(args, sem, i))
             for i in range(args.conns)]
    done, pending = await asyncio.wait(tasks, timeout=args.deadline)
    for t in pending:
        t.cancel()
    res = [t.result() for t in tasks if t in done]
    res += [summarize(False, None, [], "deadline") for _ in pending]
    return res


class Stop:
    """Set when --duration has passed or --stop-file exists."""

    def __init__(self, args):
        self.args = args
        self.event = asyncio.Event()
        self.end = time.monotonic() + args.duration if args.duration else None

    async def watch(self):
        while not self.event.is_set():
            if (self.end and time.monotonic() >= self.end) or \
                    (self.args.stop_file and os.path.exists(self.args.stop_file)):
                self.event.set()
                break
            await asyncio.sleep(0.05)

    async def sleep(self, secs):
        """Sleeps secs, or less when stopped; True when stopped."""
        try:
            await asyncio.wait_for(self.event.wait(), secs)
        except asyncio.TimeoutError:
            pass
        return self.event.is_set()


def write_ready(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


async def hold_one(args, i, stop, started):
    rec = {"ok": False, "local": None, "backend": None, "backends": [],
           "seen": [], "answers": 0, "error": None, "connected_at": None,
           "last_answer_at": None, "error_at": None}
    names, seen, w = set(), set(), None
    try:
        # spread the connections' messages over the gap
        await asyncio.sleep(random.uniform(0, args.gap))
        r, w = await connect(args, i)
        rec["connected_at"] = time.time()
        sock = w.get_extra_info("sockname")
        rec["local"] = f"{sock[0]}:{sock[1]}"
        m = 0
        while True:
            w.write(payload(args, f"hold {i} msg {m}"))
            await w.drain()
            line = await asyncio.wait_for(r.readline(), args.timeout)
            if not line:
                raise ConnectionError("closed by peer")
            a = line.decode().split()
            rec["last_answer_at"] = time.time()
            rec["answers"] += 1
            if rec["backend"] is None:
                rec["backend"] = a[0]
                if not started.done():
                    started.set_result(None)
            names.add(a[0])
            if len(a) >= 3:
                seen.add(f"{a[1]}:{a[2]}")
            m += 1
            if await stop.sleep(args.gap):
                break
        w.close()
        await asyncio.wait_for(w.wait_closed(), args.timeout)
        rec["ok"] = True
    except Exception as e:  # noqa: BLE001 - recorded, not raised
        rec["error"] = errtext(e)
        rec["error_at"] = time.time()
        if w:
            w.close()
    finally:
        if not started.done():
            started.set_result(None)
        rec["backends"] = sorted(names)
        rec["seen"] = sorted(seen)
    return rec


async def run_hold(args):
    stop = Stop(args)
    watcher = asyncio.ensure_future(stop.watch())
    loop = asyncio.get_running_loop()
    started = [loop.create_future() for _ in range(args.conns)]
    tasks = [asyncio.ensure_future(hold_one(args, i, stop, started[i]))
             for i in range(args.conns)]
    if args.ready:
        await asyncio.wait(started, timeout=args.deadline)
        up = sum(1 for t in tasks if not t.done())
        write_ready(args.ready, f"{up} {args.conns}\n")
    done, pending = await asyncio.wait(tasks, timeout=args.deadline)
    stop.event.set()
    watcher.cancel()
    for t in pending:
        t.cancel()
    res = [t.result() for t in tasks if t in done]
    res += [summarize(False, None, [], "deadline") for _ in pending]
    return res


async def open_one(args, i):
    rec = {"ok": False, "local": None, "backend": None, "backends": [],
           "seen": [], "answers": 0, "error": None, "start": time.time(),
           "end": None}
    w = None
    try:
        r, w = await connect(args, i)
        sock = w.get_extra_info("sockname")
        rec["local"] = f"{sock[0]}:{sock[1]}"
        w.write(payload(args, f"open {i}"))
        await w.drain()
        line = await asyncio.wait_for(r.readline(), args.timeout)
        if not line:
            raise ConnectionError("closed by peer before answering")
        a = line.decode().split()
        rec.update(backend=a[0], backends=[a[0]], answers=1,
                   seen=[f"{a[1]}:{a[2]}"] if len(a) >= 3 else [])
        w.close()
        await asyncio.wait_for(w.wait_closed(), args.timeout)
        rec["ok"] = True
    except Exception as e:  # noqa: BLE001
        rec["error"] = errtext(e)
        if w:
            w.close()
    rec["end"] = time.time()
    return rec


async def run_open(args):
    stop = Stop(args)
    watcher = asyncio.ensure_future(stop.watch())
    sem = asyncio.Semaphore(args.concurrency)
    end = time.monotonic() + args.deadline
    t0, tasks = time.monotonic(), []

    async def one(i):
        async with sem:
            return await open_one(args, i)

    i = 0
    while not stop.event.is_set() and time.monotonic() < end:
        tasks.append(asyncio.ensure_future(one(i)))
        i += 1
        await stop.sleep(max(0.0, t0 + i / args.rate - time.monotonic()))
    watcher.cancel()
    if not tasks:
        return []
    done, pending = await asyncio.wait(
        tasks, timeout=max(args.timeout * 2 + 1, end - time.monotonic()))
    for t in pending:
        t.cancel()
    res = [t.result() for t in tasks if t in done]
    res += [summarize(False, None, [], "deadline") for _ in pending]
    return res


class SeqFlow(asyncio.DatagramProtocol):
    def __init__(self):
        self.tr, self.got, self.names, self.seen, self.dups = None, set(), set(), set(), 0

    def connection_made(self, transport):
        self.tr = transport

    def datagram_received(self, data, peer):
        a = data.decode(errors="replace").split()
        seq = [int(x[4:]) for x in a[3:4] if x.startswith("seq=") and x[4:].isdigit()]
        if not seq:
            return
        if seq[0] in self.got:
            self.dups += 1
        self.got.add(seq[0])
        self.names.add(a[0])
        self.seen.add(f"{a[1]}:{a[2]}")

    def error_received(self, exc):
        pass  # ICMP errors: the datagram simply goes unanswered


async def run_useq(args):
    loop = asyncio.get_running_loop()
    flows = []
    for i in range(args.flows):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((args.bind, args.sport + i if args.sport else 0))
        sock.connect((args.host, args.port))
        tr, proto = await loop.create_datagram_endpoint(SeqFlow, sock=sock)
        flows.append((tr, proto, [], sock.getsockname()))
    total = int(args.rate * args.duration)
    t0 = time.monotonic()
    late = 0.0
    for n in range(total):
        tr, _, sent, _ = flows[n % len(flows)]
        tr.sendto(payload(args, f"seq={n} dgram"))
        sent.append(n)
        delay = t0 + (n + 1) / args.rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            late = max(late, -delay)
    linger_end = time.monotonic() + args.linger
    while time.monotonic() < linger_end:
        if all(set(s) <= p.got for _, p, s, _ in flows):
            break
        await asyncio.sleep(0.05)
    res = []
    for tr, p, sent, local in flows:
        missing = sorted(set(sent) - p.got)
        res.append({
            "ok": not missing, "local": f"{local[0]}:{local[1]}",
            "backend": sorted(p.names)[0] if p.names else None,
            "backends": sorted(p.names), "seen": sorted(p.seen),
            "answers": len(p.got & set(sent)), "sent": len(sent),
            "missing": missing[:50], "dups": p.dups,
            "error": f"{len(missing)} of {len(sent)} datagrams unanswered"
                     if missing else None})
        tr.close()
    return res, {"sent": total, "late_s": round(late, 3),
                 "answered": sum(r["answers"] for r in res),
                 "lost": sum(r["sent"] - r["answers"] for r in res)}


def udp_flow(args, i):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    answers, local = [], None
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((args.bind, args.sport + i if args.sport else 0))
        s.connect((args.host, args.port))
        sock = s.getsockname()
        local = f"{sock[0]}:{sock[1]}"
        s.settimeout(args.timeout)
        for n in range(args.count):
            for attempt in range(args.retries + 1):
                s.send(payload(args, f"flow {i} dgram {n}"))
                try:
                    answers.append(s.recv(2048).decode().split())
                    break
                except socket.timeout:
                    if attempt == args.retries:
                        raise TimeoutError(
                            f"no answer to datagram {n} after "
                            f"{args.retries + 1} tries")
        return summarize(True, local, answers)
    except Exception as e:  # noqa: BLE001
        return summarize(False, local, answers, f"{type(e).__name__}: {e}")
    finally:
        s.close()


def run_udp(args):
    end = time.monotonic() + args.deadline
    res = []
    for i in range(args.flows):
        if time.monotonic() > end:
            res.append(summarize(False, None, [], "deadline"))
            continue
        res.append(udp_flow(args, i))
    return res


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=["tcp", "udp", "hold", "open", "useq"])
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--conns", type=int, default=100, help="tcp: connections")
    p.add_argument("--msgs", type=int, default=1, help="tcp: lines per connection")
    p.add_argument("--gap", type=float, default=0.0, help="tcp: seconds between lines")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--flows", type=int, default=10, help="udp: source ports")
    p.add_argument("--count", type=int, default=10, help="udp: datagrams per flow")
    p.add_argument("--size", type=int, default=0,
                   help="pad each line / datagram to this many bytes")
    p.add_argument("--retries", type=int, default=2, help="udp: resends per datagram")
    p.add_argument("--bind", default="0.0.0.0",
                   help="udp, useq, tcp with --sports: local address")
    p.add_argument("--sport", type=int, default=0,
                   help="udp, useq: flow i uses source port SPORT+i (0: ephemeral)")
    p.add_argument("--sports", default="",
                   help="tcp: comma-separated source ports, one connection each")
    p.add_argument("--duration", type=float, default=0.0,
                   help="hold, open, useq: seconds to run (hold, open: 0 = until --stop-file)")
    p.add_argument("--stop-file", default="", help="hold, open: stop once this file exists")
    p.add_argument("--ready", default="", help="hold: written once every connection is up")
    p.add_argument("--rate", type=float, default=50.0,
                   help="open: connections per second; useq: datagrams per second")
    p.add_argument("--linger", type=float, default=2.0,
                   help="useq: seconds to wait for late answers")
    p.add_argument("--timeout", type=float, default=3.0, help="seconds per wait")
    p.add_argument("--deadline", type=float, default=45.0, help="seconds for the run")
    args = p.parse_args()
    args.sports = [int(x) for x in args.sports.split(",") if x]
    if args.sports:
        args.conns = len(args.sports)
    if args.mode in ("hold", "open") and not (args.duration or args.stop_file):
        p.error(f"{args.mode} needs --duration or --stop-file")

    extra = {}
    if args.mode == "tcp":
        res = asyncio.run(run_tcp(args))
    elif args.mode == "hold":
        res = asyncio.run(run_hold(args))
    elif args.mode == "open":
        res = asyncio.run(run_open(args))
    elif args.mode == "useq":
        res, extra = asyncio.run(run_useq(args))
    else:
        res = run_udp(args)
    ok = sum(1 for r in res if r["ok"])
    json.dump({"mode": args.mode, "target": f"{args.host}:{args.port}",
               "ok": ok, "failed": len(res) - ok, **extra, "results": res},
              sys.stdout)
    sys.stdout.write("\n")
    return 0 if ok == len(res) else 1


if __name__ == "__main__":
    sys.exit(main())
