#!/usr/bin/env python3
"""Kafka's own perf tools (Java) behind the adapter contract of tests/bench/README.md.

    adapter.py --workload P1|P2|P3|S1|C1 --bootstrap B --topic T --records N --size S [...]

Runs `tests/cluster/kafka tool producer-perf-test` (payload from a file holding the contract's
payload, so the topic's checksum is the same as every other client's) or `consumer-perf-test`,
parses its summary and prints one JSON line. cpu_s and rss_kb are those of the whole JVM
(startup and JIT included): the tools report no CPU of their own. consumer-perf-test reports no
checksum (null): the harness then checks the count only. T1 and L1 are not offered (the tool
bounds transactions by time, not by record count, and has no fixed-rate latency mode).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
KAFKA = ROOT / "tests" / "cluster" / "kafka"


def payload(size):
    return bytes(97 + (i * 31 + 7) % 26 for i in range(size))



def main():
    ap = argparse.ArgumentParser()
    for f in ("--workload", "--bootstrap", "--topic", "--compression"):
        ap.add_argument(f)
    for f in ("--records", "--size", "--partitions", "--txn-size"):
        ap.add_argument(f, type=int)
    ap.add_argument("--rate", type=float)
    ap.add_argument("--duration", type=float)
    a = ap.parse_args()
    w = a.workload
    if w in ("P1", "P2", "P3", "S1"):
        props = {"bootstrap.servers": a.bootstrap, "batch.size": "1048576", "linger.ms": "5",
                 "compression.type": a.compression if w == "S1" else "none",
                 "acks": "all" if w == "P2" else "1", "enable.idempotence": "true" if w == "P2" else "false",
                 "max.request.size": "2097152", "buffer.memory": "67108864"}
        with tempfile.NamedTemporaryFile("wb", suffix=".payload", delete=False) as f:
            f.write(payload(a.size))
        cmd = [str(KAFKA), "tool", "producer-perf-test", "--topic", a.topic, "--num-records", str(a.records),
               "--payload-file", f.name, "--throughput", "-1", "--producer-props"] + [f"{k}={v}" for k, v in props.items()]
        p = subprocess.run(cmd, capture_output=True, text=True)
        os.unlink(f.name)
        if p.returncode != 0:
            sys.stderr.write(p.stdout + p.stderr)
            return 1
        # "1000000 records sent, 512032.8 records/sec (48.83 MB/sec), ..."
        m = re.findall(r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\)", p.stdout)
        if not m:
            sys.stderr.write(p.stdout + p.stderr)
            return 1
        n, rps, _ = m[-1]
        n, rps = int(n), float(rps)
        res = {"records": n, "bytes": n * a.size, "seconds": n / rps if rps else 0, "checksum": None}
    elif w == "C1":
        cmd = [str(KAFKA), "tool", "consumer-perf-test", "--bootstrap-server", a.bootstrap, "--topic", a.topic,
               "--messages", str(a.records), "--group", f"bench-java-{os.getpid()}", "--timeout", "60000",
               "--hide-header"]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            sys.stderr.write(p.stdout + p.stderr)
            return 1
        # start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec,
        # rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
        rows = [l for l in p.stdout.splitlines() if l.count(",") >= 9]
        if not rows:
            sys.stderr.write(p.stdout + p.stderr)
            return 1
        f = [x.strip() for x in rows[-1].split(",")]
        n, fetch_ms = int(f[4]), float(f[7])
        res = {"records": n, "bytes": int(float(f[2]) * 1024 * 1024), "seconds": fetch_ms / 1000,
               "checksum": None, "rebalance_ms": float(f[6])}
    else:
        print(f"workload {w} is not offered by the Java tools", file=sys.stderr)
        return 2
    res = dict({"client": "java-perf-test", "workload": w}, **res, cpu_s=None, rss_kb=None, latency_ms=None)
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
