#!/usr/bin/env python3
# tests/lab/lbclient.py: the lab's traffic generator: K TCP connections or F UDP flows to a VIP, results as JSON.
"""Lab client for Ferry's netns lab.

tcp: opens --conns connections (at most --concurrency at once); each
     connects, sends --msgs lines (waiting for each answer, --gap seconds
     apart), then closes.
udp: --flows sockets, each with its own source port, sends --count
     datagrams and waits for each answer (resent up to --retries times).

The server (lbserver.py) answers "<backend> <seen address> <seen port>".
Prints one JSON object:
  {"mode", "target", "ok", "failed", "results": [
     {"ok", "local": "ip:port", "backend", "backends": [...],
      "seen": ["ip:port", ...], "answers", "error"}]}
Every wait is bounded by --timeout; the whole run by --deadline.
"""
import argparse
import asyncio
import json
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


async def tcp_one(args, sem, i):
    async with sem:
        local, answers, w = None, [], None
        try:
            r, w = await asyncio.wait_for(
                asyncio.open_connection(args.host, args.port), args.timeout)
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
            return summarize(False, local, answers,
                             f"{type(e).__name__}: {e}" if str(e)
                             else type(e).__name__)


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
    p.add_argument("mode", choices=["tcp", "udp"])
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
    p.add_argument("--bind", default="0.0.0.0", help="udp: local address")
    p.add_argument("--sport", type=int, default=0,
                   help="udp: flow i uses source port SPORT+i (0: ephemeral)")
    p.add_argument("--timeout", type=float, default=3.0, help="seconds per wait")
    p.add_argument("--deadline", type=float, default=45.0, help="seconds for the run")
    args = p.parse_args()

    if args.mode == "tcp":
        res = asyncio.run(run_tcp(args))
    else:
        res = run_udp(args)
    ok = sum(1 for r in res if r["ok"])
    json.dump({"mode": args.mode, "target": f"{args.host}:{args.port}",
               "ok": ok, "failed": len(res) - ok, "results": res},
              sys.stdout)
    sys.stdout.write("\n")
    return 0 if ok == len(res) else 1


if __name__ == "__main__":
    sys.exit(main())
