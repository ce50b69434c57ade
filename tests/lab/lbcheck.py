#!/usr/bin/env python3
# tests/lab/lbcheck.py: the lab's assertions over lbclient.py results, lbserver.py logs and ferryd --stats output.
"""Each subcommand checks one assertion, prints one line of detail and
exits 0 (holds) or 1 (does not)."""
import argparse
import collections
import json
import re
import subprocess
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
    res = [r for r in load_results(a.results)
           if r["ok"] or (a.all and r["backend"])]
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
    good = good and total >= a.total
    return done(good, f"{', '.join(parts)} of {total}; "
                f"each must be within [{a.min:.0%}, {a.max:.0%}]" +
                (f"; need >= {a.total}" if a.total else ""))


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


def count_by(results, key="backend"):
    cnt = collections.Counter(r[key] for r in results)
    return ", ".join(f"{k}={v}" for k, v in sorted(cnt.items(), key=str))


def cmd_survive(a):
    """hold results: every connection served by one of --backends kept
    working to the end (no error, one backend throughout, and with
    --until, answers still coming at or after that instant)."""
    res = load_results(a.results)
    names = set(a.backends.split(","))
    mine = [r for r in res if r["backend"] in names]
    others = [r for r in res if r["backend"] not in names]
    bad = [r for r in mine if not r["ok"] or len(r["backends"]) != 1 or
           (a.until and (r.get("last_answer_at") or 0) < a.until)]
    never = [r for r in others if r["backend"] is None]
    msg = (f"{len(mine)} connections on {','.join(sorted(names))} "
           f"({count_by(mine)}): {len(mine) - len(bad)} kept working to the end, "
           f"{len(bad)} broke")
    if a.until:
        msg += " or stopped before the end"
    if bad:
        r = bad[0]
        msg += (f"; e.g. {r['local']} on {r['backends']}: {r['error']}, "
                f"{r['answers']} answers")
    if others:
        errs = sum(1 for r in others if not r["ok"])
        msg += (f"; on other backends: {len(others)} ({count_by(others)}), "
                f"{errs} of them ended with an error")
        if errs:
            msg += f" ({errors_of(others, 2)})"
    if never and not a.allow_unstarted:
        msg += f"; {len(never)} never answered"
    good = (not bad and len(mine) >= a.min and
            (a.allow_unstarted or not never))
    return done(good, msg + f" (need >= {a.min})")


def cmd_opened(a):
    """open results: every connection opened at or after --after succeeded
    and was not served by --avoid. A connection refused (RST to its SYN)
    counts as having reached --avoid, the backend with no listener."""
    res = load_results(a.results)
    t0 = a.since if a.since is not None else a.after

    def landed(r):
        return r["backend"] == a.avoid or (
            not r["ok"] and (r["error"] or "").startswith("ConnectionRefused"))

    after = [r for r in res if a.after <= r["start"] and
             (a.before is None or r["start"] < a.before)]
    bad = [r for r in after if not r["ok"] or r["backend"] == a.avoid]
    hits = [r["start"] for r in res if landed(r) and
            (a.before is None or r["start"] < a.before)]
    before_fail = [r for r in res if r["start"] < a.after and not r["ok"]]
    span = f"{a.after - t0:+.2f}s"
    span += f"..{a.before - t0:+.2f}s" if a.before is not None else " on"
    msg = (f"{len(res)} connections opened; {len(after)} from "
           f"{span}: {len(after) - len(bad)} answered by "
           f"others ({count_by([r for r in after if r['ok']])}), {len(bad)} "
           f"failed or reached {a.avoid}")
    if bad:
        r = bad[0]
        msg += (f" (e.g. {r['start'] - t0:+.2f}s {r['local']}: "
                f"{r['backend'] or r['error']})")
    if hits:
        msg += (f"; the last one that reached {a.avoid} (answered or refused) "
                f"opened at {max(hits) - t0:+.3f}s")
    else:
        msg += f"; none reached {a.avoid}"
    if before_fail:
        msg += f"; before: {len(before_fail)} failed ({errors_of(before_fail, 2)})"
    return done(not bad and len(after) >= a.min, msg + f" (need >= {a.min})")


def cmd_useq(a):
    """useq results: every datagram sent got its answer, each flow stuck
    to one backend."""
    total, lost, answered, dups, flows, split = 0, 0, 0, 0, [], []
    late = 0.0
    for p in a.results:
        with open(p) as f:
            text = f.read().strip()
        if not text:
            raise SystemExit(f"{p}: empty (client crashed or timed out)")
        d = json.loads(text)
        total += d["sent"]
        lost += d["lost"]
        answered += d["answered"]
        late = max(late, d.get("late_s", 0))
        for r in d["results"]:
            flows.append(r)
            dups += r.get("dups", 0)
            if len(r["backends"]) != 1:
                split.append(r)
    msg = (f"{total} datagrams sent over {len(flows)} flows "
           f"({count_by(flows)}), {answered} answered, {lost} lost, "
           f"{dups} answered twice, {len(split)} flows on several backends; "
           f"sender at most {late * 1000:.0f} ms late")
    miss = [r for r in flows if r["missing"]]
    if miss:
        msg += f"; e.g. {miss[0]['local']} missing seq {miss[0]['missing'][:10]}"
    if split:
        msg += f"; e.g. {split[0]['local']} -> {split[0]['backends']}"
    return done(total >= a.min and lost == 0 and not split, msg)


def ctl_where(a, src, sport, dst, dport, proto):
    out = subprocess.run(
        [a.ferryctl, "-s", a.socket, "--json", "where", src, str(sport), dst,
         str(dport), proto], capture_output=True, text=True, timeout=15)
    if out.returncode != 0:
        raise ValueError(f"ferryctl where {src} {sport} {dst} {dport} {proto}: "
                         f"exit {out.returncode}: {out.stderr.strip()}")
    return json.loads(out.stdout)


def cmd_where(a):
    """For every answered flow of the results: ferryctl where (src, sport,
    --vip, --port, --proto) names the backend that answered it, by node
    name and address."""
    nodes = dict(x.split("=", 1) for x in a.node)
    res = [r for r in load_results(a.results) if r["ok"]]
    by = collections.Counter()
    bad = []
    for r in res:
        ip, port = r["local"].rsplit(":", 1)
        w = ctl_where(a, ip, port, a.vip, a.port, a.proto)
        by[w.get("by")] += 1
        want_addr = nodes.get(r["backend"])
        if (w.get("verdict") != "tx" or w.get("backend") != r["backend"] or
                w.get("address") != want_addr or w.get("vip") != a.vip_name or
                (a.by and w.get("by") != a.by)):
            bad.append((r["local"], r["backend"], want_addr, w))
    msg = (f"{len(res)} {a.proto} flows ({count_by(res)}): ferryctl where agrees "
           f"for {len(res) - len(bad)}, disagrees for {len(bad)}; "
           f"by {dict(sorted(by.items(), key=str))}")
    if a.predicted:
        # "ip:port backend by" lines: where's answers before the flows existed
        pred = {}
        with open(a.predicted) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2:
                    pred[parts[0]] = parts[1]
        missed = [r for r in res if pred.get(r["local"]) != r["backend"]]
        msg += (f"; asked before the flows existed, it predicted "
                f"{len(res) - len(missed)}/{len(res)}")
        if missed:
            r = missed[0]
            msg += (f" (e.g. {r['local']}: predicted {pred.get(r['local'])}, "
                    f"went to {r['backend']})")
        bad += missed
    if bad:
        loc, be, addr, w = bad[0]
        msg += (f"; e.g. {loc} answered by {be} ({addr}), where says "
                f"vip={w.get('vip')} backend={w.get('backend')} "
                f"address={w.get('address')} verdict={w.get('verdict')} by={w.get('by')}")
    need = f" (need >= {a.min}" + (f", all by {a.by})" if a.by else ")")
    return done(len(res) >= a.min and not bad, msg + need)


def json_field(v, path):
    """The value at PATH (see cmd_field) in v; raises LookupError."""
    for part in path.split("."):
        m = re.fullmatch(r"([^\[]*)(?:\[([^\]=]+)(?:=([^\]]*))?\])?", part)
        key, sel, val = m.groups()
        try:
            if key:
                v = v[key]
            if sel is not None and val is None:
                v = v[int(sel)]
            elif sel is not None:
                v = next(e for e in v if str(e.get(sel)) == val)
        except (KeyError, IndexError, StopIteration, TypeError, ValueError):
            raise LookupError(f"no {part} in {path}") from None
    if isinstance(v, bool):
        return "true" if v else "false"
    return v if not isinstance(v, (dict, list)) else json.dumps(v)


def cmd_wait_field(a):
    """Polls `ferryctl --json ARGS` every --every seconds until the value at
    PATH is WANT. Prints "BEFORE AT POLLS": the Unix time the last poll
    that still saw another value was sent (the value changed after it),
    the time the first answer with WANT arrived, and the polls made."""
    import time
    end = time.time() + a.timeout
    before, polls = None, 0
    cmd = [a.ferryctl, "-s", a.socket, "--json"] + a.args
    while time.time() < end:
        t = time.time()
        polls += 1
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=15)
        got = None
        if out.returncode == 0:
            try:
                got = str(json_field(json.loads(out.stdout), a.path))
            except (LookupError, ValueError):
                got = None
        if got == a.want:
            print(f"{before if before else t:.3f} {time.time():.3f} {polls}")
            return 0
        before = t
        time.sleep(a.every)
    print(f"{before or 0:.3f} 0 {polls}")
    return 1


def cmd_field(a):
    """Prints one value of the JSON document on stdin. PATH: dot-separated
    keys; a key "name[k=v]" picks the first element of array name whose k
    is v; "name[N]" the element N."""
    try:
        print(json_field(json.load(sys.stdin), a.path))
    except LookupError as e:
        print(f"field: {e}", file=sys.stderr)
        return 1
    return 0


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
    s.add_argument("--all", action="store_true",
                   help="count every flow that had an answer, failed later or not")
    s.add_argument("--total", type=int, default=0, help="at least this many flows")
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

    s = sub.add_parser("survive", help="hold: connections on --backends kept working")
    s.add_argument("--backends", required=True)
    s.add_argument("--min", type=int, default=1)
    s.add_argument("--until", type=float, default=0.0,
                   help="Unix time each must still have had an answer at or after")
    s.add_argument("--allow-unstarted", action="store_true",
                   help="connections that never answered do not fail the check")
    s.add_argument("results", nargs="+")
    s.set_defaults(fn=cmd_survive)

    s = sub.add_parser("opened", help="open: connections from --after avoid --avoid")
    s.add_argument("--avoid", required=True)
    s.add_argument("--after", type=float, required=True, help="Unix time")
    s.add_argument("--before", type=float, help="Unix time: only connections opened before")
    s.add_argument("--since", type=float, help="Unix time the report counts from")
    s.add_argument("--min", type=int, default=1)
    s.add_argument("results", nargs="+")
    s.set_defaults(fn=cmd_opened)

    s = sub.add_parser("useq", help="useq: every datagram answered")
    s.add_argument("--min", type=int, default=1)
    s.add_argument("results", nargs="+")
    s.set_defaults(fn=cmd_useq)

    s = sub.add_parser("where", help="ferryctl where names the answering backend")
    s.add_argument("--ferryctl", required=True)
    s.add_argument("--socket", required=True)
    s.add_argument("--vip", required=True, help="address")
    s.add_argument("--vip-name", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--proto", choices=["tcp", "udp"], required=True)
    s.add_argument("--node", action="append", required=True,
                   help="NAME=ADDRESS of a node (the name its server answers with)")
    s.add_argument("--predicted", help="file of 'ip:port backend' lines: where "
                   "asked before the flows existed")
    s.add_argument("--by", help="every answer after the flows must say by BY "
                   "(conntrack: the flows' entries; ring: from the tables)")
    s.add_argument("--min", type=int, default=1)
    s.add_argument("results", nargs="+")
    s.set_defaults(fn=cmd_where)

    s = sub.add_parser("wait-field", help="poll ferryctl until a value is reached")
    s.add_argument("--ferryctl", required=True)
    s.add_argument("--socket", required=True)
    s.add_argument("--path", required=True)
    s.add_argument("--want", required=True)
    s.add_argument("--timeout", type=float, default=10.0)
    s.add_argument("--every", type=float, default=0.02)
    s.add_argument("args", nargs="+", help="ferryctl command and arguments")
    s.set_defaults(fn=cmd_wait_field)

    s = sub.add_parser("field", help="one value of the JSON on stdin")
    s.add_argument("path")
    s.set_defaults(fn=cmd_field)

    a = p.parse_args()
    try:
        return a.fn(a)
    except (OSError, ValueError, KeyError, StopIteration, IndexError,
            subprocess.SubprocessError) as e:
        print(f"cannot check: {type(e).__name__}: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
