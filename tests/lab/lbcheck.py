#!/usr/bin/env python3
# tests/lab/lbcheck.py: the lab's assertions over lbclient.py results, lbserver.py logs and ferryd --stats output.
"""Each subcommand checks one assertion, prints one line of detail and
exits 0 (holds) or 1 (does not)."""
import argparse
import collections
import json
import re
import sys


def load_results(paths):
    out = []
    for p in paths:
        with open(p) as f:
            text = f.read().strip()
        if not text:
            raise SystemExit(f"{p}: empty (client crashed or timed out)")
        out.extend(json.loads(text)["results"])
    return out


def load_logs(paths, local=None):
    """(proto, peer, port) -> set of backend names; plus every peer seen.
    Only lines that arrived on the address `local` count when it is given
    (ferryd's health probes go to the node's own address, not the VIP)."""
    flows = collections.defaultdict(set)
    peers = collections.Counter()
    for p in paths:
        with open(p) as f:
            for line in f:
                parts = line.split()
                if len(parts) != 5:
                    continue
                kind, name, peer, port, addr = parts
                if local and addr != local:
                    continue
                proto = "udp" if kind == "udp" else "tcp"
                flows[(proto, peer, port)].add(name)
                peers[peer] += 1
    return flows, peers


def done(ok, msg):
    print(msg)
    return 0 if ok else 1


def errors_of(results, n=3):
    errs = collections.Counter(r["error"] for r in results if not r["ok"])
    return "; ".join(f"{e} x{c}" for e, c in errs.most_common(n))


def cmd_complete(a):
    res = load_results(a.results)
    ok = sum(1 for r in res if r["ok"])
    bad = len(res) - ok
    msg = f"{ok}/{len(res)} completed (need >= {a.min}, 0 failed)"
    if bad:
        msg += f"; errors: {errors_of(res)}"
    return done(bad == 0 and ok >= a.min, msg)


def cmd_spread(a):
    res = [r for r in load_results(a.results) if r["ok"]]
    names = a.backends.split(",")
    cnt = collections.Counter(r["backend"] for r in res)
    total = len(res)
    good = total > 0 and set(cnt) <= set(names)
    parts = []
    for n in names:
        share = cnt[n] / total if total else 0.0
        good = good and a.min <= share <= a.max
        parts.append(f"{n}={cnt[n]} ({share:.0%})")
    extra = sorted(set(cnt) - set(names))
    if extra:
        parts.append(f"unexpected {extra}")
    return done(good, f"{', '.join(parts)} of {total}; "
                f"each must be within [{a.min:.0%}, {a.max:.0%}]")


def cmd_client_addr(a):
    res = load_results(a.results)
    clients = set(a.clients.split(","))
    wrong = [r for r in res if r["ok"] and r["seen"] != [r["local"]]]
    _, peers = load_logs(a.logs, a.local)
    strangers = sorted(p for p in peers if p not in clients)
    done_ok = sum(1 for r in res if r["ok"])
    msg = (f"{done_ok - len(wrong)}/{done_ok} answered flows saw the client's own "
           f"address:port; log peers {sorted(peers)}")
    if wrong:
        r = wrong[0]
        msg += f"; e.g. client {r['local']} seen as {r['seen']}"
    if strangers:
        msg += f"; peers not clients: {strangers}"
    return done(not wrong and not strangers and bool(peers), msg)


def cmd_sticky(a):
    res = [r for r in load_results(a.results) if r["ok"]]
    flows, _ = load_logs(a.logs, a.local)
    split = [r for r in res if len(r["backends"]) != 1]
    short = [r for r in res if r["answers"] < a.answers]
    mismatch = []
    for r in res:
        ip, port = r["local"].rsplit(":", 1)
        logged = flows.get((a.proto, ip, port), set())
        if logged != set(r["backends"]):
            mismatch.append((r["local"], r["backends"], sorted(logged)))
    msg = (f"{len(res)} {a.proto} flows, {sum(r['answers'] for r in res)} "
           f"answers: {len(split)} answered by several backends, "
           f"{len(mismatch)} disagree with the backend logs, "
           f"{len(short)} with fewer than {a.answers} answers")
    if split:
        msg += f"; e.g. {split[0]['local']} -> {split[0]['backends']}"
    if mismatch:
        msg += f"; e.g. {mismatch[0][0]} answered {mismatch[0][1]}, " \
               f"logged at {mismatch[0][2]}"
    return done(res and not split and not mismatch and not short, msg)


def cmd_distinct(a):
    res = [r for r in load_results(a.results) if r["ok"]]
    cnt = collections.Counter(r["backend"] for r in res)
    return done(len(cnt) >= a.need,
                f"{len(res)} flows over {len(cnt)} backends "
                f"{dict(sorted(cnt.items()))} (need >= {a.need})")


def cmd_stats(a):
    """Every backend name must appear on a line of ferryd --stats with a
    non-zero packet count: "packets N" where the line says so, else any
    number that is not part of an address or of the name."""
    with open(a.file) as f:
        lines = f.read().splitlines()
    totals, missing = {}, []
    for n in a.backends.split(","):
        name_re = re.compile(r"(?<![\w.-])" + re.escape(n) + r"(?![\w.-])")
        total, seen = 0, False
        for line in lines:
            if not name_re.search(line):
                continue
            seen = True
            m = re.search(r"\bpackets[ =:]+(\d+)", line)
            if m:
                total += int(m.group(1))
                continue
            rest = name_re.sub(" ", line)
            rest = re.sub(r"\S*[.:]\S*", " ", rest)  # addresses, ip:port
            total += sum(int(x) for x in re.findall(r"(?<![\w.])\d+(?![\w.])", rest))
        if not seen or total == 0:
            missing.append(n)
        totals[n] = total if seen else None
    msg = ", ".join(f"{n}: {t} packets" for n, t in totals.items() if t)
    if missing:
        msg += f"{'; ' if msg else ''}no packets for {missing}"
    return done(not missing, msg)


def cmd_same(a):
    """Flows present in both runs (same local address:port) were served by
    the same backend."""
    first = {r["local"]: r["backend"] for r in load_results(a.before) if r["ok"]}
    second = {r["local"]: r["backend"] for r in load_results(a.after) if r["ok"]}
    common = sorted(set(first) & set(second))
    moved = [(k, first[k], second[k]) for k in common if first[k] != second[k]]
    msg = f"{len(common)} flows in both runs, {len(moved)} changed backend"
    if moved:
        msg += f"; e.g. {moved[0][0]}: {moved[0][1]} -> {moved[0][2]}"
    return done(len(common) >= a.min and not moved, msg + f" (need >= {a.min} flows)")


def vip_packets(path):
    """Sum of "packets N" over the VIP lines of ferryd --stats."""
    total = 0
    with open(path) as f:
        for line in f:
            if line.startswith("vip "):
                m = re.search(r"\bpackets[ =:]+(\d+)", line)
                if m:
                    total += int(m.group(1))
    return total


def cmd_grew(a):
    before, after = vip_packets(a.before), vip_packets(a.after)
    return done(after > before > 0,
                f"VIP packets {before} before, {after} after")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("complete", help="every client result ok, at least --min")
    s.add_argument("--min", type=int, default=1)
    s.add_argument("results", nargs="+")
    s.set_defaults(fn=cmd_complete)

    s = sub.add_parser("spread", help="each backend's share within bounds")
    s.add_argument("--backends", required=True)
    s.add_argument("--min", type=float, default=0.20)
    s.add_argument("--max", type=float, default=0.47)
    s.add_argument("results", nargs="+")
    s.set_defaults(fn=cmd_spread)

    s = sub.add_parser("client-addr", help="backends saw the true client address")
    s.add_argument("--clients", required=True)
    s.add_argument("--logs", nargs="+", required=True)
    s.add_argument("--local", help="only log lines that arrived on this address")
    s.add_argument("results", nargs="+")
    s.set_defaults(fn=cmd_client_addr)

    s = sub.add_parser("sticky", help="each flow served by exactly one backend")
    s.add_argument("--proto", choices=["tcp", "udp"], required=True)
    s.add_argument("--answers", type=int, default=1,
                   help="answers every flow must have had")
    s.add_argument("--logs", nargs="+", required=True)
    s.add_argument("--local", help="only log lines that arrived on this address")
    s.add_argument("results", nargs="+")
    s.set_defaults(fn=cmd_sticky)

    s = sub.add_parser("distinct", help="flows spread over >= --need backends")
    s.add_argument("--need", type=int, required=True)
    s.add_argument("results", nargs="+")
    s.set_defaults(fn=cmd_distinct)

    s = sub.add_parser("stats", help="ferryd --stats shows every backend")
    s.add_argument("--backends", required=True)
    s.add_argument("file")
    s.set_defaults(fn=cmd_stats)

    s = sub.add_parser("same", help="flows in both runs kept their backend")
    s.add_argument("--min", type=int, default=1)
    s.add_argument("--before", nargs="+", required=True)
    s.add_argument("--after", nargs="+", required=True)
    s.set_defaults(fn=cmd_same)

    s = sub.add_parser("grew", help="VIP packet counters kept counting")
    s.add_argument("before")
    s.add_argument("after")
    s.set_defaults(fn=cmd_grew)

    a = p.parse_args()
    try:
        return a.fn(a)
    except (OSError, ValueError, KeyError) as e:
        print(f"cannot check: {type(e).__name__}: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
