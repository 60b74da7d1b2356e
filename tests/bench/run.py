#!/usr/bin/env python3
"""polykafka benchmark harness: every client side by side against one broker, in one run.

    tests/bench/run.py [--quick] [--rounds N] [--workloads P1,C1,...] [--clients a,b,...]
                       [--out DIR] [--seed S] [--keep-broker] [--no-chart] [--list]

Clients plug in through adapters (see tests/bench/README.md): every folder tests/bench/*/ with an
`adapter.json` manifest is discovered. Each run starts the adapter as its own process, which
prints ONE JSON result line; the harness then reads the topic back (count + checksum) with
`bench-tool verify`. Python 3.11 standard library only; the PNG chart uses matplotlib from a venv
under build/bench/ (created on demand; skipped with a note if it cannot be installed).

No timed assertion anywhere: the exit status is non-zero only when a client crashed, timed out,
printed no result, or its check (count/checksum) failed. A client whose setup fails (it does not
install here) is skipped and reported as such.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
BUILD = ROOT / "build" / "bench"
KAFKA = ROOT / "tests" / "cluster" / "kafka"
# The broker the harness starts (unless KAFKA_BOOTSTRAP is set); BENCH_CLUSTER / BENCH_PORT_BASE move it
# off the defaults when another session uses them (its CPU is read from that cluster's pid file).
CLUSTER_NAME = os.environ.get("BENCH_CLUSTER", "bench")
PORT_BASE = int(os.environ.get("BENCH_PORT_BASE", "9292"))

# ----------------------------------------------------------------------------------- workloads
# Each case: the adapter workload id, records, value size and extra flags. Settings are what every
# producer is configured with (Kafka property names); adapters translate them to their client.
PRODUCER_BASE = {"batch.size": 1048576, "compression.type": "none"}
SETTINGS = {
    "P1": dict(PRODUCER_BASE, **{"acks": "1", "enable.idempotence": False, "linger.ms": 5}),
    "P2": dict(PRODUCER_BASE, **{"acks": "all", "enable.idempotence": True, "linger.ms": 5}),
    "P3": dict(PRODUCER_BASE, **{"acks": "1", "enable.idempotence": False, "linger.ms": 5}),
    "T1": dict(PRODUCER_BASE, **{"acks": "all", "enable.idempotence": True, "linger.ms": 5,
                                 "transactional.id": "bench-<topic>", "records.per.transaction": 1000}),
    "S1": dict(PRODUCER_BASE, **{"acks": "1", "enable.idempotence": False, "linger.ms": 5}),
    "L1": dict(PRODUCER_BASE, **{"acks": "1", "enable.idempotence": False, "linger.ms": 0,
                                 "latency": "consume time - intended send time (start + i/rate)"}),
    "S2": dict(PRODUCER_BASE, **{"acks": "1", "enable.idempotence": False, "linger.ms": 5,
                                 "values": "the seed's UserEvent, Avro through the schema registry (serializer per record)"}),
    "S2C": {"from": "beginning (assigned partition)", "values": "UserEvent Avro, deserialized per record",
            "input": "filled by the adapter itself with its own serializer, outside the window"},
    "K1": {"topology": "filter(index % 4 != 0) -> map_values(rotate the value by 8 bytes) -> to(T-out)",
           "commit.interval.ms": 1000, "input": "filled per run (bench-tool fill-indexed): null keys, index in the value",
           "window": "first record seen by a user function -> close() returned"},
    "K2": {"topology": "group_by(k<index % keys>) -> count -> to_stream -> to(T-out)", "keys": "10,000 (quick: 100)",
           "commit.interval.ms": 1000, "input": "filled per run (bench-tool fill-indexed)",
           "window": "first record seen by a user function -> every count final -> close() returned"},
    "P4": dict(PRODUCER_BASE, **{"acks": "all", "enable.idempotence": True, "linger.ms": 5,
                                 "keys": "k<i % 10000> (UTF-8), Java's murmur2 partitioner"}),
    "M1": {"topics": "100 × 100 partitions (quick: 4 × 4), created before the client starts",
           "producer": "P2's settings; one record (key k0) to each topic, flushed, then idle",
           "consumer": "assigned every partition (or subscribed in a fresh group), from the beginning, read_committed where offered; "
                       "reads the records there are, then keeps polling, idle",
           "measured": "by the harness from /proc/<pid> between the adapter's 'M1 idle start' and 'M1 idle end' lines"},
    "C1": {"from": "beginning", "isolation.level": "read_committed or the client's default",
           "input": "topic filled once per harness run by bench-tool fill (acks=all), read before the first run"},
}


def cases(quick: bool, m1_idle: float | None = None) -> list[dict]:
    n, big, txn = (5000, 500, 5000) if quick else (1_000_000, 100_000, 100_000)
    dur = 1 if quick else 30
    c = [
        dict(id="P1", workload="P1", records=n, size=100),
        dict(id="P2", workload="P2", records=n, size=100),
        dict(id="P3", workload="P3", records=big, size=10240),
        dict(id="C1", workload="C1", records=n, size=100),
        dict(id="T1", workload="T1", records=txn, size=100, extra=["--txn-size", "1000"]),
        dict(id="S1-snappy", workload="S1", records=n, size=100, extra=["--compression", "snappy"]),
        dict(id="S1-zstd", workload="S1", records=n, size=100, extra=["--compression", "zstd"]),
        dict(id="S2", workload="S2", records=n, size=0),
        dict(id="S2C", workload="S2C", records=n, size=0),
        dict(id="K1", workload="K1", records=n, size=100),
        dict(id="K2", workload="K2", records=n, size=100, extra=["--keys", "100" if quick else "10000"]),
    ]
    # P4 (#24): P2 spread over N partitions by key; M1: the idle cost of a producer and a consumer
    # holding T topics × P partitions (one case each, the adapter gets --role).
    for parts in ((1, 16) if quick else (1, 16, 256, 1024)):
        c.append(dict(id=f"P4-{parts}", workload="P4", records=n, size=100, partitions=parts))
    m1_topics, m1_parts = (4, 4) if quick else (100, 100)
    for role in ("producer", "consumer"):
        c.append(dict(id=f"M1-{role}", workload="M1", records=m1_topics if role == "producer" else 0, size=100,
                      partitions=m1_parts, topics=m1_topics,
                      extra=["--role", role, "--topics", str(m1_topics), "--idle", str(m1_idle or (1 if quick else 30))]))
    for rate in (1000, 10000):
        c.append(dict(id=f"L1-{rate // 1000}k", workload="L1", records=rate * dur, size=100, duration=dur,
                      extra=["--rate", str(rate), "--duration", str(dur)]))
    for x in c:
        x.setdefault("extra", [])
        x.setdefault("partitions", 1)
        x["settings"] = SETTINGS[x["workload"]]
        comp = [e for i, e in enumerate(x["extra"]) if i and x["extra"][i - 1] == "--compression"]
        if comp:
            x["settings"] = dict(x["settings"], **{"compression.type": comp[0]})
    return c


def payload(size: int) -> bytes:
    return bytes(97 + (i * 31 + 7) % 26 for i in range(size))


def expected_checksum(records: int, size: int) -> int:
    return (records * zlib.crc32(payload(size))) % (1 << 64)


S2_BASE_TS = 1764921600000


def s2c_checksum(records: int) -> int:
    """S2C: the sum of the decoded `timestamp` fields (record i has S2_BASE_TS + i)."""
    return (records * S2_BASE_TS + records * (records - 1) // 2) % (1 << 64)


class Registry:
    """The schema registry for S2: SCHEMA_REGISTRY_URL, else tests/cluster/registry started under
    build/bench/registry on BENCH_REGISTRY_PORT (8281) and the next port."""

    def __init__(self, log):
        self.started = False
        self.env = None
        if os.environ.get("SCHEMA_REGISTRY_URL"):
            self.url = os.environ["SCHEMA_REGISTRY_URL"]
            return
        port = int(os.environ.get("BENCH_REGISTRY_PORT", "8281"))
        self.env = dict(os.environ, POLYKAFKA_BUILD=str(BUILD / "registry"), REGISTRY_PORT=str(port),
                        REGISTRY_MANAGEMENT_PORT=str(port + 1))
        log(f"starting the schema registry: tests/cluster/registry up (port {port})")
        subprocess.run([str(ROOT / "tests" / "cluster" / "registry"), "up"], check=True, env=self.env,
                       stdout=sys.stderr)
        self.started = True
        env_file = BUILD / "registry" / "registry.env"
        self.url = next(l.split("=", 1)[1].strip() for l in env_file.read_text().splitlines()
                        if l.startswith("SCHEMA_REGISTRY_URL="))

    def stop(self):
        if self.started:
            subprocess.run([str(ROOT / "tests" / "cluster" / "registry"), "down"], env=self.env, capture_output=True)


# ------------------------------------------------------------------------------------ adapters
def expand(s: str, d: Path) -> str:
    return s.replace("{dir}", str(d)).replace("{root}", str(ROOT)).replace("{build}", str(BUILD)) \
            .replace("{python}", sys.executable)


def discover() -> list[dict]:
    clients = []
    for manifest in sorted(HERE.glob("*/adapter.json")):
        d = manifest.parent
        try:
            spec = json.loads(manifest.read_text())
        except ValueError as e:
            print(f"! {manifest}: bad JSON ({e}); skipped", file=sys.stderr)
            continue
        for c in spec.get("clients", []):
            c = dict(c)
            c["dir"] = d
            c["command"] = [expand(x, d) for x in c["command"]]
            c["setup"] = [expand(x, d) for x in c.get("setup", [])] or None
            c.setdefault("ours", False)
            c.setdefault("quick", True)
            c.setdefault("workloads", ["P1", "P2", "P3", "C1", "L1", "T1", "S1"])
            clients.append(c)
    return clients


def run_setup(clients: list[dict], log) -> dict[str, str]:
    """Runs each distinct setup command once; returns {client name: why it is unavailable}."""
    done: dict[tuple, tuple[bool, str]] = {}
    missing = {}
    for c in clients:
        if not c["setup"]:
            continue
        key = (str(c["dir"]), tuple(c["setup"]))
        if key not in done:
            log(f"setup {c['dir'].name}: {' '.join(c['setup'])}")
            t0 = time.time()
            p = subprocess.run(c["setup"], cwd=c["dir"], capture_output=True, text=True)
            why = (p.stderr.strip() or p.stdout.strip()).splitlines()[-15:]
            done[key] = (p.returncode == 0, "\n".join(why))
            log(f"setup {c['dir'].name}: {'ok' if p.returncode == 0 else 'FAILED'} in {time.time() - t0:.0f}s")
        ok, why = done[key]
        if not ok:
            missing[c["name"]] = why or "setup failed"
    return missing


# -------------------------------------------------------------------------------------- broker
class Broker:
    def __init__(self, bootstrap: str | None, keep: bool, log):
        self.log = log
        self.started = False
        self.keep = keep
        self.pid = None
        pidfile = ROOT / "build" / "cluster" / f"kafka-{CLUSTER_NAME}" / "node-1" / "pid"
        if bootstrap:
            self.bootstrap = bootstrap
        else:
            env = dict(os.environ, KAFKA_HEAP=os.environ.get("KAFKA_HEAP", "1g"))
            log(f"starting broker: tests/cluster/kafka --name {CLUSTER_NAME} up --port-base {PORT_BASE}")
            subprocess.run([str(KAFKA), "--name", CLUSTER_NAME, "down"], capture_output=True)
            subprocess.run([str(KAFKA), "--name", CLUSTER_NAME, "up", "--port-base", str(PORT_BASE)],
                           check=True, env=env)
            self.started = True
            self.bootstrap = f"127.0.0.1:{PORT_BASE}"
        if pidfile.exists() and self.bootstrap.endswith(f":{PORT_BASE}"):
            try:
                self.pid = int(pidfile.read_text().split()[0])
                os.kill(self.pid, 0)
            except (ValueError, IndexError, OSError):
                self.pid = None

    def cpu(self) -> float | None:
        if not self.pid:
            return None
        try:
            f = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return None

    def wait_idle(self, max_wait: float):
        """Waits (up to max_wait s) until the broker uses < 5% of a CPU over 0.5 s."""
        t_end = time.time() + max_wait
        while time.time() < t_end:
            c0 = self.cpu()
            if c0 is None:
                return
            time.sleep(0.5)
            if (self.cpu() - c0) / 0.5 < 0.05:
                return

    def stop(self):
        if self.started and not self.keep:
            subprocess.run([str(KAFKA), "--name", CLUSTER_NAME, "down"], capture_output=True)


# ----------------------------------------------------------------------------------- execution
def tool(args: list[str], timeout: float = 600) -> dict:
    exe = ROOT / "target" / "release" / "bench-tool"
    p = subprocess.run([str(exe)] + args, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"bench-tool {' '.join(args)}: {p.stderr.strip()[-500:]}")
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


def proc_sample(pid: int) -> dict | None:
    """What /proc says of a process now: CPU s (all threads), RSS KiB, threads, open fds, and the
    context switches of all its threads (voluntary + not: each is a wake-up or a preemption)."""
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        status = dict(l.split(":", 1) for l in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in l)
        ctx = 0
        for t in Path(f"/proc/{pid}/task").iterdir():
            try:
                for l in (t / "status").read_text().splitlines():
                    if l.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        ctx += int(l.split(":")[1])
            except OSError:
                pass
        return {"t": time.time(), "cpu_s": (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK"),
                "rss_kb": int(status["VmRSS"].split()[0]), "threads": int(status["Threads"]),
                "fds": len(os.listdir(f"/proc/{pid}/fd")), "ctxsw": ctx}
    except (OSError, ValueError, KeyError, IndexError):
        return None


def run_child(cmd: list[str], cwd: Path, timeout: float, idle: dict | None = None) -> tuple[int, str, str, resource.struct_rusage | None, float]:
    """Runs cmd as a child; returns (status, stdout, stderr, its rusage (wait4), wall s). With `idle`
    (a dict, M1), samples /proc/<pid> when the child prints 'M1 idle start' and 'M1 idle end' into
    idle['start'] and idle['end']."""
    t0 = time.time()
    out_f = open(BUILD / f"child-{os.getpid()}.out", "w+")
    err_f = open(BUILD / f"child-{os.getpid()}.err", "w+")
    p = subprocess.Popen(cmd, cwd=cwd, stdout=out_f, stderr=err_f, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    ru = None
    status = None
    deadline = t0 + timeout
    while True:
        pid, st, ru = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            status = os.waitstatus_to_exitcode(st)
            break
        if idle is not None and "end" not in idle:
            text = (BUILD / f"child-{os.getpid()}.out").read_text(errors="replace")  # a reader of its own: out_f's offset is the child's
            if "start" not in idle and "M1 idle start" in text:
                idle["start"] = proc_sample(p.pid)
            if "start" in idle and "M1 idle end" in text:
                idle["end"] = proc_sample(p.pid)
        if time.time() > deadline:
            os.killpg(p.pid, 9)
            _, st, ru = os.wait4(p.pid, 0)
            status = -9
            break
        time.sleep(0.02)
    p.returncode = status  # reaped by wait4
    wall = time.time() - t0
    out_f.seek(0)
    err_f.seek(0)
    out, err = out_f.read(), err_f.read()
    out_f.close()
    err_f.close()
    for f in (out_f.name, err_f.name):  # per harness process: two runs at once no longer share one file
        Path(f).unlink(missing_ok=True)
    return status, out, err, ru, wall


def one_run(client: dict, case: dict, rnd: int, broker: Broker, c1_fill: dict, quick: bool, log,
            registry: "Registry | None" = None, m1: dict | None = None) -> dict:
    w = case["workload"]
    topic = case.get("topic") or f"bench-{case['id']}-{client['name']}-r{rnd}-{os.getpid()}".replace("@", "").replace("/", "-")
    streams = w in ("K1", "K2")
    parts = case["partitions"]
    if w == "C1":
        topic = c1_fill["topic"]
    elif w == "M1":
        # The T topics <prefix>-0 .. <prefix>-(T-1) exist already (created once per harness run);
        # the consumer is told how many records they hold.
        topic = m1["prefix"]
        if case["id"] == "M1-consumer":
            case = dict(case, records=tool(["count-prefix", "--bootstrap", broker.bootstrap, "--topic", topic,
                                            "--topics", str(case["topics"]), "--partitions", str(parts)])["records"])
    else:
        tool(["create", "--bootstrap", broker.bootstrap, "--topic", topic, "--partitions", str(parts)])
    if streams:
        # The input, filled outside the window; the output topic; the application id is bench-<topic>.
        tool(["create", "--bootstrap", broker.bootstrap, "--topic", f"{topic}-out", "--partitions", "1"])
        tool(["fill-indexed", "--bootstrap", broker.bootstrap, "--topic", topic, "--records", str(case["records"]),
              "--size", str(case["size"])])
    broker.wait_idle(2 if quick else 10)
    cmd = client["command"] + ["--workload", w, "--bootstrap", broker.bootstrap, "--topic", topic,
                               "--records", str(case["records"]), "--size", str(case["size"]),
                               "--partitions", str(parts)] + case["extra"]
    if w in ("S2", "S2C"):
        cmd += ["--registry", registry.url]
    load = os.getloadavg()[0]
    bcpu0 = broker.cpu()
    limit = 120 if quick else (case.get("duration", 0) + 180 if w == "L1" else 900)
    idle = {} if w == "M1" else None
    if case["id"] == "M1-producer":
        before = tool(["count-prefix", "--bootstrap", broker.bootstrap, "--topic", topic,
                       "--topics", str(case["topics"]), "--partitions", str(parts)])["records"]
    status, out, err, ru, wall = run_child(cmd, client["dir"], limit, idle)
    bcpu1 = broker.cpu()
    rec = {"client": client["name"], "case": case["id"], "round": rnd, "topic": topic, "load1": round(load, 2),
           "status": status, "wall_process_s": round(wall, 3)}
    if ru is not None:
        rec["process_cpu_s"] = round(ru.ru_utime + ru.ru_stime, 4)
        rec["process_peak_rss_kb"] = ru.ru_maxrss
    if bcpu0 is not None and bcpu1 is not None:
        rec["broker_cpu_s"] = round(bcpu1 - bcpu0, 3)
    lines = [l for l in out.splitlines() if l.strip().startswith("{")]
    problems = []
    if status != 0:
        problems.append(f"exit status {status}")
    res = None
    if lines:
        try:
            res = json.loads(lines[-1])
        except ValueError:
            problems.append("result line is not JSON")
    else:
        problems.append("no JSON result line")
    if res is not None:
        rec["result"] = res
        n, secs = res.get("records") or 0, res.get("seconds") or 0
        cpu = res.get("cpu_s")
        if cpu is None:
            cpu = rec.get("process_cpu_s")
            rec["cpu_from"] = "process (rusage of the whole child, setup included)"
        rec["records_per_s"] = n / secs if secs else None
        rec["mb_per_s"] = (res.get("bytes") or 0) / secs / 1e6 if secs else None
        rec["cpu_s_per_million"] = cpu / n * 1e6 if (cpu is not None and n) else None
        rec["rss_kb"] = res.get("rss_kb") or rec.get("process_peak_rss_kb")
        if res.get("latency_ms"):
            rec["latency_ms"] = res["latency_ms"]
        # ---- the check: what the run consumed (or wrote) is what it should be
        if streams:
            if n != case["records"]:
                problems.append(f"client reports {n} records, expected {case['records']}")
            rec["startup_s"] = res.get("startup_s")
            try:
                v = tool(["verify-streams", "--workload", w, "--bootstrap", broker.bootstrap, "--topic", f"{topic}-out",
                          "--records", str(case["records"]), "--size", str(case["size"])] + case["extra"])
                rec["verify"] = v
                if not v.get("ok"):
                    problems.append(f"output topic: {v.get('problem')}")
            except Exception as e:  # noqa: BLE001
                problems.append(f"verify failed: {e}")
            rec["check"] = ("every kept record once (indices)" if w == "K1" else "final count of every key") + \
                " (output read back)"
        elif w in ("S2", "S2C"):
            if n != case["records"]:
                problems.append(f"client reports {n} records, expected {case['records']}")
            if w == "S2C":
                if res.get("checksum") is None or int(res["checksum"]) != s2c_checksum(case["records"]):
                    problems.append(f"decoded timestamp sum {res.get('checksum')} != {s2c_checksum(case['records'])}")
                rec["check"] = "count + sum of the decoded timestamps"
            else:
                rec["check"] = "count of acknowledged records (values are not fixed-size: no topic read-back)"
        elif w == "M1":
            s0, s1 = idle.get("start"), idle.get("end")
            if not (s0 and s1):
                problems.append("no 'M1 idle start' / 'M1 idle end' lines (or the process was gone)")
            else:
                dt = s1["t"] - s0["t"]
                rec["idle"] = {"seconds": round(dt, 3), "cpu_s": round(s1["cpu_s"] - s0["cpu_s"], 3),
                               "cpu_pct": round(100 * (s1["cpu_s"] - s0["cpu_s"]) / dt, 3) if dt > 0 else None,
                               "wakeups_per_s": round((s1["ctxsw"] - s0["ctxsw"]) / dt, 1) if dt > 0 else None,
                               "rss_kb": s1["rss_kb"], "threads": s1["threads"], "fds": s1["fds"]}
                rec["rss_kb"] = s1["rss_kb"]
            if n != case["records"]:
                problems.append(f"client reports {n} records, expected {case['records']}")
            if "producer" in case["id"]:
                after = tool(["count-prefix", "--bootstrap", broker.bootstrap, "--topic", topic,
                              "--topics", str(case["topics"]), "--partitions", str(parts)])["records"]
                if after - before != case["records"]:
                    problems.append(f"the topics gained {after - before} records, expected {case['records']}")
                rec["check"] = "one record per topic (end offsets before/after)"
            else:
                rec["check"] = "read every record of the topics (their end offsets)"
        elif w == "C1":
            exp_n, exp_sum = c1_fill["records"], c1_fill["checksum"]
            if n != case["records"]:
                problems.append(f"consumed {n} records, expected {case['records']}")
            if res.get("checksum") is None:
                rec["check"] = "count only (the client reports no checksum)"
            elif int(res["checksum"]) != expected_checksum(case["records"], case["size"]):
                problems.append(f"checksum {res['checksum']} != {expected_checksum(case['records'], case['size'])}")
            else:
                rec["check"] = "count + checksum"
        else:
            try:
                v = tool(["verify", "--bootstrap", broker.bootstrap, "--topic", topic, "--size", str(case["size"]),
                          "--partitions", str(parts)] + (["--keys", "10000"] if w == "P4" else []))
            except Exception as e:  # noqa: BLE001
                v = None
                problems.append(f"verify failed: {e}")
            if v is not None:
                rec["verify"] = v
                if w == "L1":
                    want_n = case["records"]
                    want_sum = res.get("checksum")
                else:
                    want_n, want_sum = case["records"], expected_checksum(case["records"], case["size"])
                if v["records"] != want_n:
                    problems.append(f"topic holds {v['records']} records of {case['size']} B, expected {want_n}")
                if n != want_n:
                    problems.append(f"client reports {n} records, expected {want_n}")
                if want_sum is not None and int(v["checksum"]) != int(want_sum):
                    problems.append(f"topic checksum {v['checksum']} != {want_sum}")
                if w != "L1" and res.get("checksum") is not None and int(res["checksum"]) != int(v["checksum"]):
                    problems.append(f"client checksum {res['checksum']} != topic checksum {v['checksum']}")
                rec["check"] = "count + checksum (topic read back)"
                if w == "P4":
                    # Every record keyed k<i % 10000>, in murmur2(key) % N: the same partitioner everywhere.
                    if v.get("misplaced") or v.get("keyed") != want_n:
                        problems.append(f"{v.get('misplaced')} records not in murmur2(key)'s partition, "
                                        f"{v.get('keyed')} keyed of {want_n}")
                    rec["check"] = f"count + checksum over {parts} partitions + every key in murmur2(key) % {parts}"
        if w == "L1" and not res.get("latency_ms"):
            problems.append("L1 result without latency_ms")
    if w not in ("C1", "M1"):
        try:
            tool(["delete", "--bootstrap", broker.bootstrap, "--topic", topic], timeout=60)
            if streams:
                tool(["delete", "--bootstrap", broker.bootstrap, "--topic", f"{topic}-out"], timeout=60)
                tool(["delete-prefix", "--bootstrap", broker.bootstrap, "--topic", f"bench-{topic}-"], timeout=60)
        except Exception:  # noqa: BLE001
            pass
    if problems:
        rec["problems"] = problems
        rec["stderr_tail"] = err.strip().splitlines()[-20:]
    return rec


# ------------------------------------------------------------------------------------- reports
def med(xs):
    xs = [x for x in xs if x is not None]
    return (statistics.median(xs), min(xs), max(xs)) if xs else (None, None, None)


def summarise(runs: list[dict], clients: list[dict]) -> dict:
    meta = {c["name"]: c for c in clients}
    out: dict = {}
    for r in runs:
        if r.get("problems"):
            continue
        out.setdefault(r["case"], {}).setdefault(r["client"], []).append(r)
    summary = {}
    for case, per in out.items():
        summary[case] = {}
        for client, rs in per.items():
            s = {"language": meta[client]["language"], "ours": meta[client]["ours"], "rounds": len(rs)}
            for k in ("records_per_s", "mb_per_s", "cpu_s_per_million", "rss_kb", "broker_cpu_s"):
                m, lo, hi = med([r.get(k) for r in rs])
                s[k] = {"median": m, "min": lo, "max": hi}
            if any(r.get("idle") for r in rs):
                s["idle"] = {k: med([r["idle"].get(k) for r in rs if r.get("idle")])[0]
                             for k in ("seconds", "cpu_s", "cpu_pct", "wakeups_per_s", "rss_kb", "threads", "fds")}
            if any(r.get("latency_ms") for r in rs):
                s["latency_ms"] = {q: med([r["latency_ms"].get(q) for r in rs if r.get("latency_ms")])[0]
                                   for q in ("p50", "p99", "p999")}
            s["check"] = rs[0].get("check")
            summary[case][client] = s
        # ratios against the best peer of the same language; the Rust producer vs the ceiling
        for client, s in summary[case].items():
            if not s["ours"]:
                continue
            langs = {s["language"], *meta[client].get("peer_languages", [])}
            peers = {k: v for k, v in summary[case].items() if v["language"] in langs and not v["ours"]}
            tp = [v["records_per_s"]["median"] for v in peers.values() if v["records_per_s"]["median"]]
            cp = [v["cpu_s_per_million"]["median"] for v in peers.values() if v["cpu_s_per_million"]["median"]]
            if tp and s["records_per_s"]["median"]:
                best = max(peers, key=lambda k: peers[k]["records_per_s"]["median"] or 0)
                s["T_vs_best_peer"] = {"peer": best, "ratio": s["records_per_s"]["median"] / max(tp)}
            if cp and s["cpu_s_per_million"]["median"]:
                best = min((k for k in peers if peers[k]["cpu_s_per_million"]["median"]),
                           key=lambda k: peers[k]["cpu_s_per_million"]["median"])
                s["E_vs_best_peer"] = {"peer": best, "ratio": s["cpu_s_per_million"]["median"] / min(cp)}
            if "latency_ms" in s:
                lp = [v["latency_ms"]["p99"] for v in peers.values() if v.get("latency_ms") and v["latency_ms"]["p99"]]
                if lp and s["latency_ms"]["p99"]:
                    s["p99_vs_best_peer"] = s["latency_ms"]["p99"] / min(lp)
            ceil = summary[case].get("ceiling", {}).get("records_per_s", {}).get("median")
            if ceil and s["records_per_s"]["median"]:
                s["fraction_of_ceiling"] = s["records_per_s"]["median"] / ceil
    return summary


def fmt(x, digits=0):
    if x is None:
        return "–"
    if digits == 0:
        return f"{x:,.0f}"
    return f"{x:,.{digits}f}"


def markdown(doc: dict) -> str:
    m = doc["machine"]
    ls = [r["load1"] for r in doc["runs"] if "load1" in r]
    loads = (round(statistics.mean(ls), 2), round(max(ls), 2)) if ls else (None, None)
    lines = [f"# polykafka benchmarks{' (quick mode: tiny sizes, not a measurement)' if doc['quick'] else ''}", "",
             f"{doc['finished']} · {m['cpu']} × {m['cpus']} · {m['kernel']} · 1-min load average at start "
             f"{m['load_at_start']}, mean over runs {loads[0]}, max {loads[1]} (other work shared the machine when "
             f"it is above ~1) · {doc['rounds']} round(s), median (min–max) · broker {doc['broker']}", "",
             "T = records/s ÷ the best peer's in the same language (higher is better); E = client CPU s per "
             "million records ÷ the most CPU-frugal peer's (lower is better); ceiling = records/s ÷ the "
             "ceiling program's (pre-encoded requests over one connection).", ""]
    for case, per in doc["summary"].items():
        lat = any("latency_ms" in s for s in per.values())
        if any("idle" in s for s in per.values()):
            lines.append(f"## {case}: " + "; ".join(f"{k}: {v}" for k, v in doc["cases"][case]["settings"].items()))
            lines.append(f"{doc['cases'][case].get('topics')} topics × {doc['cases'][case].get('partitions')} partitions, "
                         f"idle {doc['cases'][case]['extra'][-1]} s")
            lines.append("")
            lines.append("| client | lang | idle CPU s | % of a CPU | wake-ups/s | RSS MB | threads | fds |")
            lines.append("|---|---|---:|---:|---:|---:|---:|---:|")
            for client, s in sorted(per.items(), key=lambda kv: (kv[1]["language"], kv[0])):
                i = s.get("idle") or {}
                name = f"**{client}**" if s["ours"] else client
                lines.append(f"| {name} | {s['language']} | {fmt(i.get('cpu_s'), 2)} | {fmt(i.get('cpu_pct'), 2)} | "
                             f"{fmt(i.get('wakeups_per_s'), 1)} | {fmt((i.get('rss_kb') or 0) / 1024, 0)} | "
                             f"{fmt(i.get('threads'))} | {fmt(i.get('fds'))} |")
            lines.append("")
            continue
        lines.append(f"## {case}: " + ", ".join(f"{k}={v}" for k, v in doc["cases"][case]["settings"].items()))
        parts = doc['cases'][case].get('partitions', 1)
        lines.append(f"{doc['cases'][case]['records']:,} records × {doc['cases'][case]['size']} B"
                     + (f" over {parts} partitions" if parts > 1 else ""))
        lines.append("")
        if lat:
            lines.append("| client | lang | p50 ms | p99 ms | p99.9 ms | records/s | CPU s/M rec | RSS MB | p99 vs best peer |")
            lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        else:
            lines.append("| client | lang | records/s | MB/s | CPU s/M rec | RSS MB | T | E | ceiling | check |")
            lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for client, s in sorted(per.items(), key=lambda kv: (kv[1]["language"], -(kv[1]["records_per_s"]["median"] or 0))):
            rps, cpu, rss = s["records_per_s"], s["cpu_s_per_million"], s["rss_kb"]
            name = f"**{client}**" if s["ours"] else client
            rng = f" ({fmt(rps['min'])}–{fmt(rps['max'])})" if s["rounds"] > 1 else ""
            if lat:
                l = s.get("latency_ms", {})
                lines.append(f"| {name} | {s['language']} | {fmt(l.get('p50'), 2)} | {fmt(l.get('p99'), 2)} | "
                             f"{fmt(l.get('p999'), 2)} | {fmt(rps['median'])} | {fmt(cpu['median'], 2)} | "
                             f"{fmt((rss['median'] or 0) / 1024, 0)} | {fmt(s.get('p99_vs_best_peer'), 2)} |")
            else:
                t = s.get("T_vs_best_peer", {}).get("ratio")
                e = s.get("E_vs_best_peer", {}).get("ratio")
                lines.append(f"| {name} | {s['language']} | {fmt(rps['median'])}{rng} | {fmt(s['mb_per_s']['median'], 1)} | "
                             f"{fmt(cpu['median'], 2)} | {fmt((rss['median'] or 0) / 1024, 0)} | {fmt(t, 2)} | {fmt(e, 2)} | "
                             f"{fmt(s.get('fraction_of_ceiling'), 2)} | {s.get('check') or ''} |")
        lines.append("")
    if doc["unavailable"]:
        lines.append("## Clients that did not run here")
        for name, why in doc["unavailable"].items():
            lines.append(f"- {name}: {why.splitlines()[-1] if why else 'setup failed'}")
        lines.append("")
    failed = [r for r in doc["runs"] if r.get("problems")]
    if failed:
        lines.append("## Failed runs")
        for r in failed:
            lines.append(f"- {r['client']} {r['case']} round {r['round']}: {'; '.join(r['problems'])}")
        lines.append("")
    lines.append("CPU: user+sys of the client process during its measured window as the adapter reports it "
                 "(getrusage / /proc/self/stat); for the Java tools, of the whole JVM process (startup and JIT "
                 "included). RSS: peak resident set. Every client gets the same settings (above); see "
                 "tests/bench/README.md for what each adapter maps them to.")
    return "\n".join(lines) + "\n"


def chart(doc: dict, path: Path, log) -> str | None:
    venv = BUILD / "venv"
    py = venv / "bin" / "python"
    if not py.exists():
        log("creating build/bench/venv with matplotlib for the chart")
        r = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True)
        if r.returncode == 0:
            r = subprocess.run([str(py), "-m", "pip", "install", "-q", "matplotlib"], capture_output=True, text=True)
        if r.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            return f"no chart: matplotlib did not install ({r.stderr.strip()[-200:]})"
    script = r'''
import json, sys
import matplotlib; matplotlib.use("Agg")
import matplotlib.pyplot as plt
doc = json.load(open(sys.argv[1]))
cases = [c for c in doc["summary"] if not c.startswith(("L1", "M1"))]
n = len(cases)
fig, axes = plt.subplots(n, 2, figsize=(13, 2.2 + 0.45 * sum(len(doc["summary"][c]) for c in cases) / max(n, 1) * n), squeeze=False)
for i, case in enumerate(cases):
    per = doc["summary"][case]
    names = sorted(per, key=lambda k: per[k]["records_per_s"]["median"] or 0)
    colors = ["#d62728" if per[k]["ours"] else ("#7f7f7f" if per[k]["language"] in ("ceiling", "java") else "#1f77b4") for k in names]
    for j, (key, label) in enumerate((("records_per_s", "records/s"), ("cpu_s_per_million", "client CPU s per million records"))):
        ax = axes[i][j]
        vals = [per[k][key]["median"] or 0 for k in names]
        lo = [max(0, v - (per[k][key]["min"] or v)) for k, v in zip(names, vals)]
        hi = [max(0, (per[k][key]["max"] or v) - v) for k, v in zip(names, vals)]
        ax.barh([f"{k} ({per[k]['language']})" for k in names], vals, color=colors, xerr=[lo, hi])
        ax.set_title(f"{case}: {label}", fontsize=9)
        ax.tick_params(labelsize=7)
fig.suptitle("polykafka vs peers (red: polykafka, grey: ceilings; median of rounds, bars min-max)", fontsize=10)
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=110)
'''
    src = BUILD / "chart.py"
    src.write_text(script)
    tmp = BUILD / "chart-input.json"
    tmp.write_text(json.dumps(doc))
    r = subprocess.run([str(py), str(src), str(tmp), str(path)], capture_output=True, text=True)
    if r.returncode != 0:
        return f"no chart: {r.stderr.strip()[-300:]}"
    return None


# ---------------------------------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, one round (make bench-quick)")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--workloads", help="comma-separated case ids or workload ids (P1,C1,L1,S1-zstd,...)")
    ap.add_argument("--clients", help="comma-separated client names (default: all; in --quick, those marked quick)")
    ap.add_argument("--records", type=int, help="override the record count of every case (L1: rate×duration)")
    ap.add_argument("--m1-idle", type=float, help="M1's idle seconds (default 30, quick 1)")
    ap.add_argument("--out", help="output folder (default tests/bench/results, or build/bench/quick with --quick)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep-broker", action="store_true")
    ap.add_argument("--no-chart", action="store_true")
    ap.add_argument("--no-setup", action="store_true", help="skip the adapters' setup commands")
    ap.add_argument("--list", action="store_true", help="list discovered clients and cases, then exit")
    ap.add_argument("--report", metavar="RESULTS_JSON", help="only rewrite results.md (and the chart) from a results.json")
    a = ap.parse_args()
    if a.report:
        src = Path(a.report)
        doc = json.loads(src.read_text())
        (src.parent / "results.md").write_text(markdown(doc))
        if not a.no_chart and not doc["quick"]:
            print(chart(doc, src.parent / "results.png", print) or "chart written")
        return 0

    BUILD.mkdir(parents=True, exist_ok=True)
    t_start = time.time()

    def log(msg):
        print(f"[bench {time.time() - t_start:6.1f}s] {msg}", flush=True)

    all_clients = discover()
    all_cases = cases(a.quick, a.m1_idle)
    if a.records:
        for c in all_cases:
            if c["workload"] != "M1":  # M1's records are its topics (producer) or what they hold (consumer)
                c["records"] = a.records
    if a.list:
        for c in all_clients:
            print(f"{c['name']:28} {c['language']:8} {'ours' if c['ours'] else 'peer':5} quick={c['quick']} "
                  f"{','.join(c['workloads'])}  ({c['dir'].name}/adapter.json)")
        print("cases:", ", ".join(c["id"] for c in all_cases))
        return 0
    if a.clients:
        want = a.clients.split(",")
        unknown = [w for w in want if w not in {c["name"] for c in all_clients}]
        if unknown:
            print(f"unknown clients: {unknown}", file=sys.stderr)
            return 2
        clients = [c for c in all_clients if c["name"] in want]
    else:
        clients = [c for c in all_clients if (c["quick"] or not a.quick) and c.get("default", True)]
    sel = all_cases
    if a.workloads:
        want = a.workloads.split(",")
        sel = [c for c in all_cases if c["id"] in want or c["workload"] in want]
    # Only the clients that offer a selected case are built and set up.
    clients = [c for c in clients if any(x["id"] in c["workloads"] or x["workload"] in c["workloads"] for x in sel)]
    rounds = a.rounds or (1 if a.quick else 5)
    seed = a.seed if a.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    out_dir = Path(a.out) if a.out else (BUILD / "quick" if a.quick else HERE / "results")
    out_dir.mkdir(parents=True, exist_ok=True)

    # Quick mode links only what it runs (each release binary is a whole-program link): the
    # harness's bench-tool and the clients' commands in target/release.
    bins = []
    if a.quick:
        release = str(ROOT / "target" / "release") + os.sep
        names = {"bench-tool"} | {c["command"][0][len(release):] for c in clients if c["command"][0].startswith(release)}
        bins = [x for name in sorted(names) for x in ("--bin", name)]
    log(f"building the Rust bench binaries (cargo build --release -p polykafka-bench {' '.join(bins)})")
    subprocess.run(["cargo", "build", "--release", "--locked", "-q", "-p", "polykafka-bench"] + bins, cwd=ROOT, check=True)
    unavailable = {} if a.no_setup else run_setup(clients, log)
    clients = [c for c in clients if c["name"] not in unavailable]

    broker = Broker(os.environ.get("KAFKA_BOOTSTRAP"), a.keep_broker, log)
    registry = None
    runs: list[dict] = []
    m1 = None
    try:
        if any(c["workload"] in ("S2", "S2C") for c in sel) and \
                any(w in ("S2", "S2C") for c in clients for w in c["workloads"]):
            registry = Registry(log)
        c1_fill = None
        c1 = [c for c in sel if c["workload"] == "C1"]
        if c1:
            topic = f"bench-c1-input-{os.getpid()}"
            tool(["create", "--bootstrap", broker.bootstrap, "--topic", topic, "--partitions", "1"])
            log(f"filling {topic} with {c1[0]['records']:,} × {c1[0]['size']} B")
            c1_fill = tool(["fill", "--bootstrap", broker.bootstrap, "--topic", topic, "--records",
                            str(c1[0]["records"]), "--size", str(c1[0]["size"])])
            c1_fill["topic"] = topic
            tool(["verify", "--bootstrap", broker.bootstrap, "--topic", topic, "--size", str(c1[0]["size"])])  # warm
        m1c = [c for c in sel if c["workload"] == "M1"]
        if m1c and any("M1" in c["workloads"] for c in clients):
            m1 = {"prefix": f"bench-m1-{os.getpid()}", "topics": m1c[0]["topics"], "partitions": m1c[0]["partitions"]}
            log(f"creating {m1['topics']} topics × {m1['partitions']} partitions ({m1['prefix']}-0 ..)")
            t0 = time.time()
            tool(["create-many", "--bootstrap", broker.bootstrap, "--topic", m1["prefix"], "--topics", str(m1["topics"]),
                  "--partitions", str(m1["partitions"])], timeout=900)
            log(f"created in {time.time() - t0:.0f}s")
        for rnd in range(1, rounds + 1):
            for case in sel:
                order = [c for c in clients if case["workload"] in c["workloads"] or case["id"] in c["workloads"]]
                rng.shuffle(order)
                for client in order:
                    rec = one_run(client, case, rnd, broker, c1_fill, a.quick, log, registry, m1)
                    runs.append(rec)
                    if rec.get("problems"):
                        log(f"round {rnd} {case['id']:10} {client['name']:24} FAILED: {'; '.join(rec['problems'])}")
                        for l in rec.get("stderr_tail", [])[-5:]:
                            log(f"    {l}")
                    elif rec.get("idle"):
                        i = rec["idle"]
                        log(f"round {rnd} {case['id']:10} {client['name']:24} idle {i['seconds']:.1f}s: CPU {i['cpu_s']:.2f}s "
                            f"({i['cpu_pct']:.2f}%) {i['wakeups_per_s']:.0f} wake-ups/s RSS {i['rss_kb'] / 1024:.0f} MB "
                            f"{i['threads']} threads {i['fds']} fds")
                    else:
                        lat = rec.get("latency_ms")
                        extra = f" p50 {lat['p50']:.2f} p99 {lat['p99']:.2f} p99.9 {lat['p999']:.2f} ms" if lat else ""
                        log(f"round {rnd} {case['id']:10} {client['name']:24} {rec['records_per_s']:>12,.0f} rec/s "
                            f"{rec['mb_per_s']:8.1f} MB/s  CPU {fmt(rec['cpu_s_per_million'], 2)} s/M{extra}")
        if c1_fill:
            tool(["delete", "--bootstrap", broker.bootstrap, "--topic", c1_fill["topic"]], timeout=60)
    finally:
        if m1:
            try:
                tool(["delete-prefix", "--bootstrap", broker.bootstrap, "--topic", m1["prefix"] + "-"], timeout=300)
            except Exception as e:  # noqa: BLE001
                log(f"deleting the M1 topics failed: {e}")
        broker.stop()
        if registry is not None:
            registry.stop()

    doc = {
        "quick": a.quick,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t_start)),
        "finished": time.strftime("%Y-%m-%d %H:%M", time.localtime()),
        "rounds": rounds,
        "seed": seed,
        "broker": "KAFKA_BOOTSTRAP=" + broker.bootstrap if os.environ.get("KAFKA_BOOTSTRAP")
        else f"tests/cluster/kafka --name {CLUSTER_NAME} (1 node, KRaft, heap {os.environ.get('KAFKA_HEAP', '1g')}), 1 partition per topic unless the case says",
        "machine": {
            "cpu": next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                         if l.startswith("model name")), platform.processor()),
            "cpus": os.cpu_count(), "kernel": platform.release(),
            "load_at_start": round(runs[0]["load1"], 2) if runs else None,
            "load_at_end": round(os.getloadavg()[0], 2),
        },
        "cases": {c["id"]: {k: c[k] for k in ("workload", "records", "size", "extra", "settings", "partitions", "topics") if k in c}
                  for c in sel},
        "clients": {c["name"]: {"language": c["language"], "ours": c["ours"], "command": c["command"],
                                "notes": c.get("notes")} for c in clients},
        "unavailable": unavailable,
        "runs": runs,
    }
    doc["summary"] = summarise(runs, clients)
    (out_dir / "results.json").write_text(json.dumps(doc, indent=1))
    (out_dir / "results.md").write_text(markdown(doc))
    log(f"wrote {out_dir / 'results.json'} and results.md")
    if not a.no_chart and not a.quick:
        note = chart(doc, out_dir / "results.png", log)
        log(note or f"wrote {out_dir / 'results.png'}")
    failed = [r for r in runs if r.get("problems")]
    log(f"{len(runs) - len(failed)} runs passed their checks, {len(failed)} failed; "
        f"{len(unavailable)} client(s) unavailable: {', '.join(unavailable) or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
