#!/usr/bin/env python3
# tests/lab/lbmetrics.py: the metrics test's helper: fetch and read Prometheus text exposition, query a Prometheus server's HTTP API, read the decap program's counters on a backend.
"""Subcommands (every one bounded by --timeout, exit 1 when what was asked
for is missing or fails):

fetch URL [--out FILE]       GET URL (200 expected); the body to FILE/stdout
value FILE SERIES            one sample's value: name or name{k="v",...}
sum FILE NAME [K=V ...]      sum of NAME's samples whose labels match
families FILE                every family name with its TYPE, one a line
query URL EXPR               instant query; prints the single result's value
                             (an empty result: exit 1)
alert URL NAME [K=V ...]     exit 0 when an alert NAME with these labels is
                             firing (prints it), else 1
decap NS                     packets the decap program on NS's eth0
                             decapsulated (LB_DECAP_DONE, summed over CPUs)

Values print as integers when integral.
"""
import argparse
import json
import re
import subprocess
import sys
import urllib.parse
import urllib.request

LB_DECAP_DONE = 0


def http_get(url, timeout):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        if r.status != 200:
            raise RuntimeError(f"{url}: HTTP {r.status}")
        return r.read().decode()


def num(v):
    return str(int(v)) if float(v).is_integer() else repr(v)


_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


def unescape(s):
    return re.sub(r'\\(.)', lambda m: "\n" if m.group(1) == "n" else m.group(1), s)


def parse_series(text):
    """'name{k="v",...}' -> (name, {k: v})."""
    text = text.strip()
    if "{" not in text:
        return text, {}
    name, rest = text.split("{", 1)
    body = rest.rsplit("}", 1)[0]
    labels = {}
    pos = 0
    while pos < len(body):
        m = _LABEL.match(body, pos)
        if not m:
            raise ValueError(f"bad labels in {text!r}")
        labels[m.group(1)] = unescape(m.group(2))
        pos = m.end()
    return name, labels


def parse_exposition(text):
    """[(name, labels, value)] and {family: type}."""
    samples, types = [], {}
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("#"):
            f = line.split(None, 3)
            if len(f) >= 4 and f[1] == "TYPE":
                types[f[2]] = f[3].strip()
            continue
        series, value = line.rsplit(None, 1) if "}" not in line else (
            line[:line.rindex("}") + 1], line[line.rindex("}") + 1:].split()[0])
        name, labels = parse_series(series)
        samples.append((name, labels, float(value)))
    return samples, types


def want_labels(pairs):
    out = {}
    for p in pairs:
        k, _, v = p.partition("=")
        out[k] = v
    return out


def cmd_fetch(a):
    body = http_get(a.url, a.timeout)
    if a.out:
        with open(a.out, "w") as f:
            f.write(body)
    else:
        sys.stdout.write(body)


def cmd_value(a):
    name, labels = parse_series(a.series)
    samples, _ = parse_exposition(open(a.file).read())
    for n, l, v in samples:
        if n == name and l == labels:
            print(num(v))
            return 0
    print(f"no sample {a.series}", file=sys.stderr)
    return 1


def cmd_sum(a):
    want = want_labels(a.labels)
    samples, _ = parse_exposition(open(a.file).read())
    hits = [v for n, l, v in samples
            if n == a.name and all(l.get(k) == v2 for k, v2 in want.items())]
    if not hits:
        print(f"no sample of {a.name} with {want}", file=sys.stderr)
        return 1
    print(num(sum(hits)))
    return 0


def cmd_families(a):
    _, types = parse_exposition(open(a.file).read())
    for n, t in sorted(types.items()):
        print(n, t)


def cmd_query(a):
    url = a.url.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": a.expr})
    res = json.loads(http_get(url, a.timeout))
    if res.get("status") != "success":
        print(f"query failed: {res}", file=sys.stderr)
        return 1
    data = res["data"]
    if data["resultType"] == "scalar":
        print(num(float(data["result"][1])))
        return 0
    if len(data["result"]) != 1:
        print(f"{len(data['result'])} results for {a.expr}: {data['result']}", file=sys.stderr)
        return 1
    print(num(float(data["result"][0]["value"][1])))
    return 0


def cmd_alert(a):
    want = want_labels(a.labels)
    res = json.loads(http_get(a.url.rstrip("/") + "/api/v1/alerts", a.timeout))
    for al in res["data"]["alerts"]:
        l = al["labels"]
        if l.get("alertname") == a.name and al.get("state") == "firing" and \
                all(l.get(k) == v for k, v in want.items()):
            print(json.dumps(l, sort_keys=True), al.get("activeAt", ""))
            return 0
    states = [(al["labels"].get("alertname"), al["state"]) for al in res["data"]["alerts"]]
    print(f"no firing {a.name} {want}; alerts: {states}", file=sys.stderr)
    return 1


def run_json(cmd, timeout):
    return json.loads(subprocess.run(cmd, check=True, capture_output=True,
                                     timeout=timeout).stdout)


def cmd_decap(a):
    link = run_json(["ip", "-n", a.ns, "-j", "link", "show", "dev", "eth0"], a.timeout)[0]
    prog = link.get("xdp", {}).get("prog", {}).get("id")
    if prog is None:
        print(f"no XDP program on eth0 in {a.ns}", file=sys.stderr)
        return 1
    info = run_json(["bpftool", "-j", "prog", "show", "id", str(prog)], a.timeout)
    for mid in info.get("map_ids", []):
        m = run_json(["bpftool", "-j", "map", "show", "id", str(mid)], a.timeout)
        if m.get("name") != "decap_stats":
            continue
        e = run_json(["bpftool", "-j", "map", "lookup", "id", str(mid), "key",
                      "0", "0", "0", "0"], a.timeout)
        if isinstance(e, list):
            e = e[0]
        total = 0
        if "formatted" in e:
            for c in e["formatted"]["values"]:
                total += int(c["value"]["packets"])
        else:
            for c in e["values"]:
                raw = bytes(int(x, 16) for x in c["value"][:8])
                total += int.from_bytes(raw, "little")
        print(total)
        return 0
    print(f"no decap_stats map on program {prog} in {a.ns}", file=sys.stderr)
    return 1


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--timeout", type=float, default=5.0)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("fetch")
    s.add_argument("url")
    s.add_argument("--out")
    s.set_defaults(fn=cmd_fetch)
    s = sub.add_parser("value")
    s.add_argument("file")
    s.add_argument("series")
    s.set_defaults(fn=cmd_value)
    s = sub.add_parser("sum")
    s.add_argument("file")
    s.add_argument("name")
    s.add_argument("labels", nargs="*")
    s.set_defaults(fn=cmd_sum)
    s = sub.add_parser("families")
    s.add_argument("file")
    s.set_defaults(fn=cmd_families)
    s = sub.add_parser("query")
    s.add_argument("url")
    s.add_argument("expr")
    s.set_defaults(fn=cmd_query)
    s = sub.add_parser("alert")
    s.add_argument("url")
    s.add_argument("name")
    s.add_argument("labels", nargs="*")
    s.set_defaults(fn=cmd_alert)
    s = sub.add_parser("decap")
    s.add_argument("ns")
    s.set_defaults(fn=cmd_decap)
    a = p.parse_args()
    try:
        return a.fn(a) or 0
    except Exception as e:  # noqa: BLE001 - one line for the test's log
        print(f"{a.cmd}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
