#!/usr/bin/env python3
"""Python (asyncio / uvloop) baselines for the solo benchmarks.

    bench.py <workload|all> [--runtime asyncio|uvloop|all] [--reps N]
             [--json FILE] [--quick]

Workloads (same names and metrics as the Rust `solo-bench` binary):

  spawn        1,000,000 trivial tasks created from one task, each returning its
               index; all awaited, results summed (checked against n(n-1)/2).
  yield        1,000 tasks x 1,000 `await asyncio.sleep(0)`.
  pingpong     two tasks, 1,000,000 round trips over two asyncio.Queue(1).
  timers       1,000,000 tasks, each sleeping a pseudo-random 0..999 ms
               (splitmix64, seed 42), recording how late it woke up.
  timers-100k  the same with 100,000 tasks.
  echo         TCP echo on 127.0.0.1, 1,000 connections x 100 round trips of
               64 B; server and clients in one process, asyncio streams
               (asyncio.start_server + asyncio.open_connection).
  echo-x       as echo, but the server is its own process pinned to core 0 and
               the load generator (Python, uvloop streams by default) is pinned
               to core 1; peak_rss is the server's.
  http         (not in `all`: needs nginx and aiohttp) 100,000 GET requests of
               a 4 KiB static file from nginx on 127.0.0.1 (started by the run,
               pinned to core 0, same config as solo-bench's), 256 in flight,
               with one aiohttp.ClientSession (TCPConnector limit 256) pinned
               to core 1; every body compared with the file; peak_rss is the
               client's.

Every rep runs in a fresh subprocess (so peak RSS, read from VmHWM in
/proc/self/status, belongs to that run alone), runtimes alternate within each
rep, and the reported value is the median over reps.  Each workload checks its
own result (sums, counts, echoed bytes); a failed check makes the run exit
non-zero.  --quick scales every count down 100x (timer delays keep their 0..1 s
range) for smoke tests; quick runs write JSON only when --json is given.

Results are JSON lines, one object per (workload, runtime, metric):
  {"workload", "runtime", "metric", "value", "unit", "higher_is_better", "reps"}
Writing merges into the target file: records for the (workload, runtime,
metric) triples just measured are replaced, all others are kept.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_JSON = os.path.join(REPO, "bench", "results", "python.jsonl")

RUNTIMES = ["asyncio", "uvloop"]
TIMER_METRICS = [
    ("wall", "s", False),
    ("beyond_1s", "s", False),
    ("mean_lateness", "ms", False),
    ("max_lateness", "ms", False),
    ("rss_per_task", "B", False),
]
ECHO_METRICS = [("throughput", "round trips/s", True), ("peak_rss", "MiB", False)]
# workload -> [(metric, unit, higher_is_better)]; order here is the run order.
WORKLOADS = {
    "spawn": [("throughput", "tasks/s", True)],
    "yield": [("throughput", "yields/s", True)],
    "pingpong": [("throughput", "round trips/s", True)],
    "timers": TIMER_METRICS,
    "timers-100k": TIMER_METRICS,
    "echo": ECHO_METRICS,
    "echo-x": ECHO_METRICS,
    "http": [("throughput", "requests/s", True), ("peak_rss", "MiB", False)],
}
# Named only: `all` leaves them out.
EXTRA_WORKLOADS = {"http"}

SEED = 42
ECHO_SIZE = 64
CHILD_TIMEOUT = 900  # seconds, per rep


class CheckFailed(Exception):
    pass


def check(cond: bool, what: str) -> None:
    if not cond:
        raise CheckFailed(what)


# --------------------------------------------------------------------------
# process helpers


def proc_status_kib(field: str) -> int:
    """A 'kB' field of /proc/self/status (VmRSS, VmHWM), in KiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    # Not Linux: fall back to getrusage (maxrss is KiB on Linux, bytes on macOS).
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def raise_nofile() -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def pin_to(core: int) -> bool:
    """Pin this process to one core; False if the machine has too few."""
    if not hasattr(os, "sched_setaffinity"):
        return False
    if core not in os.sched_getaffinity(0) and len(os.sched_getaffinity(0)) < 2:
        return False
    try:
        os.sched_setaffinity(0, {core})
        return True
    except OSError:
        return False


def new_runner(runtime: str) -> asyncio.Runner:
    if runtime == "uvloop":
        import uvloop

        return asyncio.Runner(loop_factory=uvloop.new_event_loop)
    if runtime == "asyncio":
        return asyncio.Runner()
    raise SystemExit(f"unknown runtime {runtime!r}")


def splitmix64_ms(n: int, seed: int = SEED, modulo: int = 1000) -> list[int]:
    """n pseudo-random delays in 0..modulo-1 ms: splitmix64(seed), value % modulo.

    Language-neutral on purpose so the Rust side can draw the same sequence:
      state += 0x9E3779B97F4A7C15; z = state;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
      z ^= z >> 31            (all mod 2^64)
    """
    mask = (1 << 64) - 1
    state = seed & mask
    out = [0] * n
    for i in range(n):
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        z ^= z >> 31
        out[i] = z % modulo
    return out


# --------------------------------------------------------------------------
# workloads: each takes (runtime, quick) and returns {metric: value}


def wl_spawn(runtime: str, quick: bool) -> dict:
    n = 10_000 if quick else 1_000_000

    async def trivial(i):
        return i

    async def main():
        loop = asyncio.get_running_loop()
        t0 = time.perf_counter()
        tasks = [loop.create_task(trivial(i)) for i in range(n)]
        total = 0
        for t in tasks:
            total += await t
        return total, time.perf_counter() - t0

    with new_runner(runtime) as r:
        total, dt = r.run(main())
    check(total == n * (n - 1) // 2, f"spawn sum {total} != {n * (n - 1) // 2}")
    return {"throughput": n / dt}


def wl_yield(runtime: str, quick: bool) -> dict:
    ntasks, nyields = (100, 100) if quick else (1_000, 1_000)

    async def yielder():
        sleep = asyncio.sleep
        for _ in range(nyields):
            await sleep(0)
        return nyields

    async def main():
        loop = asyncio.get_running_loop()
        t0 = time.perf_counter()
        tasks = [loop.create_task(yielder()) for _ in range(ntasks)]
        total = 0
        for t in tasks:
            total += await t
        return total, time.perf_counter() - t0

    with new_runner(runtime) as r:
        total, dt = r.run(main())
    check(total == ntasks * nyields, f"yield count {total} != {ntasks * nyields}")
    return {"throughput": total / dt}


def wl_pingpong(runtime: str, quick: bool) -> dict:
    n = 10_000 if quick else 1_000_000

    async def main():
        ping: asyncio.Queue = asyncio.Queue(1)
        pong: asyncio.Queue = asyncio.Queue(1)

        async def pinger():
            bad = 0
            for i in range(n):
                await ping.put(i)
                if await pong.get() != i:
                    bad += 1
            return bad

        async def ponger():
            count = 0
            for _ in range(n):
                v = await ping.get()
                await pong.put(v)
                count += 1
            return count

        loop = asyncio.get_running_loop()
        t0 = time.perf_counter()
        a = loop.create_task(pinger())
        b = loop.create_task(ponger())
        bad = await a
        count = await b
        return bad, count, time.perf_counter() - t0

    with new_runner(runtime) as r:
        bad, count, dt = r.run(main())
    check(bad == 0, f"pingpong: {bad} replies out of order")
    check(count == n, f"pingpong: ponger saw {count} != {n}")
    return {"throughput": n / dt}


def timers(runtime: str, n: int) -> dict:
    delays = splitmix64_ms(n)
    lateness = [0.0] * n
    woke = [0]

    # Lateness is measured on time.monotonic(), not loop.time(): uvloop's
    # loop.time() is libuv's cached, millisecond-resolution loop clock.
    clock = time.monotonic

    async def sleeper(i, d_ms):
        d = d_ms / 1000.0
        t0 = clock()
        await asyncio.sleep(d)
        lateness[i] = clock() - t0 - d
        woke[0] += 1

    async def main():
        loop = asyncio.get_running_loop()
        t0 = time.perf_counter()
        tasks = [loop.create_task(sleeper(i, delays[i])) for i in range(n)]
        for t in tasks:
            await t
        return time.perf_counter() - t0

    rss0 = proc_status_kib("VmRSS")
    with new_runner(runtime) as r:
        wall = r.run(main())
    hwm = proc_status_kib("VmHWM")
    check(woke[0] == n, f"timers: {woke[0]} of {n} woke")
    early = min(lateness)
    if early < -0.001:
        # Not a check failure: libuv arms timers from its cached loop clock,
        # so a timer armed late in a long loop iteration can fire early.
        print(f"timers/{runtime}: earliest wake-up {-early * 1e3:.3f} ms early",
              file=sys.stderr)
    return {
        "wall": wall,
        "beyond_1s": wall - 1.0,
        "mean_lateness": statistics.fmean(lateness) * 1e3,
        "max_lateness": max(lateness) * 1e3,
        "rss_per_task": (hwm - rss0) * 1024 / n,
    }


def wl_timers(runtime: str, quick: bool) -> dict:
    return timers(runtime, 10_000 if quick else 1_000_000)


def wl_timers_100k(runtime: str, quick: bool) -> dict:
    return timers(runtime, 1_000 if quick else 100_000)


def echo_dims(quick: bool) -> tuple[int, int]:
    return (100, 10) if quick else (1_000, 100)


async def echo_serve(counter: list):
    """asyncio.start_server echo server on 127.0.0.1:0; counter[0] counts bytes."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                counter[0] += len(data)
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)


async def echo_clients(port: int, conns: int, rounds: int) -> tuple[int, float]:
    """conns concurrent clients x rounds 64-byte round trips; (bytes, seconds)."""

    async def client(cid: int) -> int:
        payload = bytes((cid + j) & 0xFF for j in range(ECHO_SIZE))
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        got_bytes = 0
        for _ in range(rounds):
            writer.write(payload)
            await writer.drain()
            got = await reader.readexactly(ECHO_SIZE)
            if got != payload:
                raise CheckFailed(f"echo: connection {cid} got corrupted data")
            got_bytes += len(got)
        writer.close()
        await writer.wait_closed()
        return got_bytes

    loop = asyncio.get_running_loop()
    t0 = time.perf_counter()
    tasks = [loop.create_task(client(c)) for c in range(conns)]
    total = 0
    for t in tasks:
        total += await t
    return total, time.perf_counter() - t0


def wl_echo(runtime: str, quick: bool) -> dict:
    conns, rounds = echo_dims(quick)
    raise_nofile()
    served = [0]

    async def main():
        server = await echo_serve(served)
        port = server.sockets[0].getsockname()[1]
        total, dt = await echo_clients(port, conns, rounds)
        server.close()
        await server.wait_closed()
        return total, dt

    with new_runner(runtime) as r:
        total, dt = r.run(main())
    want = conns * rounds * ECHO_SIZE
    check(total == want, f"echo: clients got {total} B != {want}")
    check(served[0] == want, f"echo: server echoed {served[0]} B != {want}")
    return {
        "throughput": conns * rounds / dt,
        "peak_rss": proc_status_kib("VmHWM") / 1024,
    }


def echo_server_main(runtime: str) -> None:
    """--_server: echo server process for echo-x, pinned to core 0.

    Prints 'PORT <n>' once listening; on SIGTERM/SIGINT prints a JSON line with
    the bytes echoed and its VmHWM, then exits."""
    pinned = pin_to(0)
    raise_nofile()
    served = [0]

    async def main():
        server = await echo_serve(served)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
        await stop.wait()
        server.close()

    with new_runner(runtime) as r:
        r.run(main())
    print(json.dumps({"served": served[0], "hwm_kib": proc_status_kib("VmHWM"),
                      "pinned": pinned}), flush=True)


def wl_echo_x(runtime: str, quick: bool, client_runtime: str = "uvloop",
              client_cmd: str | None = None) -> dict:
    conns, rounds = echo_dims(quick)
    raise_nofile()
    srv = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--_server", "--runtime", runtime],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        line = srv.stdout.readline()
        check(line.startswith("PORT "), f"echo-x: server said {line!r}")
        port = int(line.split()[1])
        if client_cmd:
            # External load generator: run pinned to core 1, timed from launch
            # to exit; it must exit 0 after conns x rounds 64-byte round trips.
            cmd = client_cmd.format(host="127.0.0.1", port=port, conns=conns,
                                    rounds=rounds, size=ECHO_SIZE)
            t0 = time.perf_counter()
            rc = subprocess.run(cmd, shell=True,
                                preexec_fn=lambda: pin_to(1)).returncode
            dt = time.perf_counter() - t0
            check(rc == 0, f"echo-x: external client exited {rc}")
            total = conns * rounds * ECHO_SIZE
        else:
            if not pin_to(1):
                print("echo-x: could not pin the client to core 1", file=sys.stderr)
            with new_runner(client_runtime) as r:
                total, dt = r.run(echo_clients(port, conns, rounds))
    finally:
        srv.send_signal(signal.SIGTERM)
        out, _ = srv.communicate(timeout=60)
    info = json.loads(out.strip().splitlines()[-1])
    if not info.get("pinned"):
        print("echo-x: could not pin the server to core 0", file=sys.stderr)
    check(srv.returncode == 0, f"echo-x: server exited {srv.returncode}")
    want = conns * rounds * ECHO_SIZE
    check(total == want, f"echo-x: clients got {total} B != {want}")
    check(info["served"] == want, f"echo-x: server echoed {info['served']} B != {want}")
    return {"throughput": conns * rounds / dt, "peak_rss": info["hwm_kib"] / 1024}


# --------------------------------------------------------------------------
# http: aiohttp against nginx (as solo-bench's http workload)

HTTP_FILE_LEN = 4096
HTTP_IN_FLIGHT = 256


def http_file_bytes() -> bytes:
    """The same 4 KiB as solo-bench's: xorshift32 from 0x9E3779B9, low bytes."""
    x = 0x9E3779B9
    out = bytearray(HTTP_FILE_LEN)
    for i in range(HTTP_FILE_LEN):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out[i] = x & 0xFF
    return bytes(out)


def nginx_binary() -> str | None:
    import shutil

    for p in (shutil.which("nginx"), "/usr/sbin/nginx", "/usr/local/sbin/nginx"):
        if p and os.path.isfile(p):
            return p
    return None


def start_nginx(tmp: str) -> tuple[subprocess.Popen, int]:
    """nginx serving tmp/html/4k.bin on a free port, pinned to core 0."""
    import socket

    nginx = nginx_binary()
    check(nginx is not None, "http: nginx not found (apt-get install -y nginx)")
    os.makedirs(os.path.join(tmp, "html"))
    os.makedirs(os.path.join(tmp, "tmp"))
    with open(os.path.join(tmp, "html", "4k.bin"), "wb") as f:
        f.write(http_file_bytes())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    temps = "\n".join(f"    {k}_temp_path {tmp}/tmp/{k};"
                      for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = f"""daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    open_file_cache max=16;
{temps}
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    server {{
        listen 127.0.0.1:{port} backlog=1024;
        root {tmp}/html;
    }}
}}
"""
    with open(os.path.join(tmp, "nginx.conf"), "w") as f:
        f.write(conf)
    proc = subprocess.Popen(
        [nginx, "-p", tmp, "-c", os.path.join(tmp, "nginx.conf"),
         "-e", os.path.join(tmp, "error.log")],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        preexec_fn=lambda: pin_to(0))
    deadline = time.monotonic() + 10
    while True:
        check(proc.poll() is None, f"http: nginx exited {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            check(time.monotonic() < deadline, "http: nginx did not listen in 10 s")
            time.sleep(0.02)


def wl_http(runtime: str, quick: bool) -> dict:
    import shutil
    import tempfile

    import aiohttp

    n = 1_000 if quick else 100_000
    want = http_file_bytes()
    raise_nofile()
    tmp = tempfile.mkdtemp(prefix="solo-bench-py-nginx-")
    nginx, port = start_nginx(tmp)
    try:
        if not pin_to(1):
            print("http: could not pin the client to core 1", file=sys.stderr)
        url = f"http://127.0.0.1:{port}/4k.bin"

        async def main():
            t0 = time.perf_counter()
            taken = [0]
            bad = []
            conn = aiohttp.TCPConnector(limit=HTTP_IN_FLIGHT, limit_per_host=HTTP_IN_FLIGHT)
            async with aiohttp.ClientSession(connector=conn) as session:
                async def worker():
                    done = 0
                    while taken[0] < n:
                        taken[0] += 1
                        async with session.get(url) as resp:
                            body = await resp.read()
                            if resp.status != 200 or body != want:
                                bad.append((resp.status, len(body)))
                        done += 1
                    return done

                done = sum(await asyncio.gather(*(worker() for _ in range(HTTP_IN_FLIGHT))))
            return done, bad, time.perf_counter() - t0

        with new_runner(runtime) as r:
            done, bad, dt = r.run(main())
    finally:
        nginx.kill()
        nginx.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    check(not bad, f"http: {len(bad)} responses were not 200 + the file, e.g. {bad[:3]}")
    check(done == n, f"http: {done} requests completed != {n}")
    return {"throughput": n / dt, "peak_rss": proc_status_kib("VmHWM") / 1024}


FUNCS = {
    "spawn": wl_spawn,
    "yield": wl_yield,
    "pingpong": wl_pingpong,
    "timers": wl_timers,
    "timers-100k": wl_timers_100k,
    "echo": wl_echo,
    "echo-x": wl_echo_x,
    "http": wl_http,
}


# --------------------------------------------------------------------------
# parent: reps in subprocesses, medians, table, JSON


def run_child(workload: str, runtime: str, args) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--_child", workload,
           "--runtime", runtime]
    if args.quick:
        cmd.append("--quick")
    if args.echo_x_client:
        cmd += ["--echo-x-client", args.echo_x_client]
    cmd += ["--echo-x-client-runtime", args.echo_x_client_runtime]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, timeout=CHILD_TIMEOUT)
    if p.returncode != 0:
        raise CheckFailed(f"{workload}/{runtime}: child exited {p.returncode}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def fmt(v: float) -> str:
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.2f}M"
    if a >= 1e4:
        return f"{v / 1e3:.1f}k"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def print_table(results: dict, runtimes: list[str], workloads: list[str]) -> None:
    head = ["workload", "metric", "unit"] + runtimes
    if "asyncio" in runtimes and "uvloop" in runtimes:
        head.append("uvloop vs asyncio")
    rows = [head]
    for wl in workloads:
        for metric, unit, hib in WORKLOADS[wl]:
            vals = [results.get((wl, rt, metric)) for rt in runtimes]
            row = [wl, metric, unit] + ["-" if v is None else fmt(v) for v in vals]
            if len(head) > len(runtimes) + 3:
                a, u = results.get((wl, "asyncio", metric)), results.get((wl, "uvloop", metric))
                if a and u:
                    ratio = u / a if hib else a / u
                    row.append(f"{ratio:.2f}x")
                else:
                    row.append("-")
            rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    for k, r in enumerate(rows):
        print("  ".join(c.ljust(w) if i < 3 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(r, widths))))
        if k == 0:
            print("  ".join("-" * w for w in widths))


def write_json(path: str, results: dict, reps: int) -> None:
    keep = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                rec = json.loads(line)
                if (rec["workload"], rec["runtime"], rec["metric"]) not in results:
                    keep.append(rec)
    new = []
    for (wl, rt, metric), v in results.items():
        unit, hib = next((u, h) for m, u, h in WORKLOADS[wl] if m == metric)
        new.append({"workload": wl, "runtime": rt, "metric": metric, "value": v,
                    "unit": unit, "higher_is_better": hib, "reps": reps})
    wl_order = list(WORKLOADS)
    recs = keep + new
    recs.sort(key=lambda r: (wl_order.index(r["workload"]) if r["workload"] in wl_order
                             else len(wl_order), r["runtime"]))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        for r in recs:
            f.write(json.dumps(r) + "\n")
    os.replace(tmp, path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workload", nargs="?", default="all",
                    help="one of: all, " + ", ".join(WORKLOADS))
    ap.add_argument("--runtime", default="all", choices=RUNTIMES + ["all"])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", default=None,
                    help=f"JSON lines output (default {os.path.relpath(DEFAULT_JSON)}"
                         "; none with --quick)")
    ap.add_argument("--quick", action="store_true", help="scale down 100x (smoke test)")
    ap.add_argument("--echo-x-client", default=None, metavar="CMD",
                    help="external echo-x load generator: shell command with "
                         "{host} {port} {conns} {rounds} {size}; run pinned to core 1")
    ap.add_argument("--echo-x-client-runtime", default="uvloop", choices=RUNTIMES,
                    help="event loop of the built-in echo-x load generator (default uvloop)")
    ap.add_argument("--_child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--_server", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args._server:
        echo_server_main(args.runtime)
        return 0

    if args._child:
        try:
            if args._child == "echo-x":
                res = wl_echo_x(args.runtime, args.quick, args.echo_x_client_runtime,
                                args.echo_x_client)
            else:
                res = FUNCS[args._child](args.runtime, args.quick)
        except CheckFailed as e:
            print(f"CHECK FAILED: {e}", file=sys.stderr)
            return 1
        print(json.dumps(res), flush=True)
        return 0

    if args.workload == "all":
        workloads = [w for w in WORKLOADS if w not in EXTRA_WORKLOADS]
    elif args.workload in WORKLOADS:
        workloads = [args.workload]
    else:
        ap.error(f"unknown workload {args.workload!r}")
    runtimes = RUNTIMES if args.runtime == "all" else [args.runtime]
    if "uvloop" in runtimes:
        try:
            import uvloop  # noqa: F401
        except ImportError:
            ap.error("uvloop is not installed (use bench/python/run.sh, which makes a venv)")
    json_path = args.json if args.json else (None if args.quick else DEFAULT_JSON)

    with open("/proc/loadavg") as f:
        load1 = float(f.read().split()[0])
    print(f"# python {sys.version.split()[0]}, runtimes {', '.join(runtimes)}, "
          f"reps {args.reps}{', QUICK (1/100 scale)' if args.quick else ''}, "
          f"load average {load1:.2f}", flush=True)
    if load1 > 1.5:
        print(f"# WARNING: load average {load1:.2f} > 1.5; numbers may be noisy",
              flush=True)

    samples: dict = {}
    failed = False
    t_all = time.perf_counter()
    for wl in workloads:
        t_wl = time.perf_counter()
        for rep in range(args.reps):
            order = runtimes if rep % 2 == 0 else list(reversed(runtimes))
            for rt in order:
                try:
                    res = run_child(wl, rt, args)
                except (CheckFailed, subprocess.TimeoutExpired) as e:
                    print(f"FAILED: {e}", file=sys.stderr, flush=True)
                    failed = True
                    continue
                for metric, v in res.items():
                    samples.setdefault((wl, rt, metric), []).append(v)
                brief = ", ".join(f"{m}={fmt(v)}" for m, v in res.items())
                print(f"  {wl:<12} {rt:<8} rep {rep + 1}/{args.reps}: {brief}", flush=True)
        print(f"# {wl}: {time.perf_counter() - t_wl:.1f} s", flush=True)

    results = {k: statistics.median(v) for k, v in samples.items()
               if len(v) == args.reps}
    print(f"\n# medians over {args.reps} reps, total {time.perf_counter() - t_all:.1f} s")
    print_table(results, runtimes, workloads)
    if json_path and not failed:
        write_json(json_path, results, args.reps)
        print(f"\nwrote {os.path.relpath(json_path)}")
    elif json_path:
        print("\nnot writing JSON: some runs failed", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
