#!/usr/bin/env python3
"""Build BENCHMARKS.md (and bench/results/chart.png) from bench/results/*.jsonl.

    python3 bench/report.py [--out BENCHMARKS.md] [--results DIR] [--no-chart]

Each results line is one median:
  {"workload", "runtime", "metric", "value", "unit", "higher_is_better", "reps"}
Missing files, workloads or runtimes are reported as "not measured".  The chart
needs matplotlib: if this interpreter lacks it, the script re-runs itself with
bench/python/.venv/bin/python (made by bench/python/run.sh) to draw it.
Hand-written text lives in bench/notes.md and is copied in verbatim.
Standard library only.
"""

from __future__ import annotations

import argparse
import datetime
import glob
import json
import os
import platform
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
VENV_PY = os.path.join(HERE, "python", ".venv", "bin", "python")

SOLO = "solo"
RUNTIME_ORDER = ["solo", "tokio", "smol", "asyncio", "uvloop", "scrapy", "aiohttp",
                 "spider-rs", "spider-rs-nobalance", "crawlee"]
CRAWLERS = ["solo", "scrapy", "aiohttp", "spider-rs", "spider-rs-nobalance", "crawlee"]
# Workloads with their own set of programs: their tables show exactly these
# columns, and runtimes that appear only here are left out of other tables.
WORKLOAD_RUNTIMES = {"crawl": CRAWLERS}
WORKLOAD_ORDER = ["spawn", "yield", "pingpong", "timers", "timers-100k", "echo", "echo-x",
                  "hello-wrk", "http", "crawl"]
WORKLOAD_TITLE = {
    "spawn": "spawn: 1,000,000 trivial tasks spawned from one task, awaited, summed",
    "yield": "yield: 1,000 tasks x 1,000 yields",
    "pingpong": "pingpong: 1,000,000 round trips between two tasks over bounded(1) queues",
    "timers": "timers: 1,000,000 tasks sleeping pseudo-random 0..1000 ms",
    "timers-100k": "timers-100k: 100,000 tasks sleeping pseudo-random 0..1000 ms",
    "echo": "echo: TCP echo, 1,000 connections x 100 round trips of 64 B, one process",
    "echo-x": "echo-x: TCP echo, server process on core 0, load generator on core 1",
    "hello-wrk": "hello-wrk: wrk (1 thread, 100 connections) against a minimal HTTP "
                 "responder on TcpStream, server on core 0, wrk on core 1",
    "http": "http: 100,000 GET requests of a 4 KiB static file from nginx (1 process, "
            "core 0) on 127.0.0.1, 256 in flight, client on core 1: solo = solo-http, "
            "tokio = reqwest on current_thread, uvloop = aiohttp",
    "crawl": "crawl: full crawl of a static site of {pages} interlinked ~2 KB pages from "
             "nginx on 127.0.0.1, 256 in flight: solo = solo-crawl, scrapy = Scrapy "
             "runspider, aiohttp = aiohttp+uvloop queue/workers crawler, spider-rs = the "
             "spider crate on tokio (default features; -nobalance: without them), crawlee "
             "= Crawlee's CheerioCrawler on Node (bench/crawl/run.sh)",
}
# Metric display order within a workload (others follow alphabetically).
METRIC_ORDER = ["throughput", "overhead", "wall", "beyond_1s", "mean_lateness",
                "max_lateness", "rss_per_task", "peak_rss", "cpu_s", "cpu_per_1k"]

COMMANDS = [
    "bench/run.sh   # all of the below, in order",
    "cargo run --release -p solo-bench -- all --json bench/results/rust.jsonl",
    "bench/python/run.sh all --json bench/results/python.jsonl",
    "bench/wrk/run.sh",
    "cargo run --release -p solo-bench -- http --json bench/results/http.jsonl",
    "bench/python/run.sh http --runtime uvloop --json bench/results/python-http.jsonl",
    "bench/crawl/run.sh   # solo-crawl, Scrapy, aiohttp, spider-rs, Crawlee; "
    "writes bench/results/crawl.jsonl",
    "cargo run --release -p solo-bench --bin html-parse   # scraper vs lol_html (notes below)",
    "python3 bench/report.py",
]

# (label, workload, metric, kind, threshold, peer)
#   kind "ratio": solo vs peer, oriented so >1 means solo is better, >= threshold
#   kind "max":   solo's value <= threshold
TARGETS = [
    ("spawn throughput >= 1.5x smol", "spawn", "throughput", "ratio", 1.5, "smol"),
    ("spawn overhead <= 96 B/task", "spawn", "overhead", "max", 96, None),
    ("yield throughput >= 1.5x tokio", "yield", "throughput", "ratio", 1.5, "tokio"),
    ("pingpong throughput >= 2.0x tokio", "pingpong", "throughput", "ratio", 2.0, "tokio"),
    ("timers (1M) wall <= 1.25 s", "timers", "wall", "max", 1.25, None),
    ("timers (1M) rss_per_task <= 200 B", "timers", "rss_per_task", "max", 200, None),
    ("timers-100k mean_lateness <= 2 ms", "timers-100k", "mean_lateness", "max", 2, None),
    ("timers-100k max_lateness <= 10 ms", "timers-100k", "max_lateness", "max", 10, None),
    ("echo throughput >= 1.2x tokio", "echo", "throughput", "ratio", 1.2, "tokio"),
    ("echo-x throughput >= 1.2x tokio", "echo-x", "throughput", "ratio", 1.2, "tokio"),
    ("echo peak_rss <= tokio's", "echo", "peak_rss", "ratio", 1.0, "tokio"),
    ("echo-x server peak_rss <= tokio's", "echo-x", "peak_rss", "ratio", 1.0, "tokio"),
    ("echo-x server syscalls <= 3 per round trip", "echo-x", "syscalls_per_rt", "max", 3, None),
    ("spawn throughput >= 30x asyncio", "spawn", "throughput", "ratio", 30, "asyncio"),
    ("pingpong throughput >= 30x asyncio", "pingpong", "throughput", "ratio", 30, "asyncio"),
    ("http throughput >= 1.3x reqwest (tokio)", "http", "throughput", "ratio", 1.3, "tokio"),
    ("http throughput >= 3x aiohttp (uvloop)", "http", "throughput", "ratio", 3, "uvloop"),
    ("crawl throughput >= 10x scrapy", "crawl", "throughput", "ratio", 10, "scrapy"),
    ("crawl throughput >= 3x aiohttp", "crawl", "throughput", "ratio", 3, "aiohttp"),
    ("crawl peak_rss <= scrapy's", "crawl", "peak_rss", "ratio", 1.0, "scrapy"),
    ("crawl peak_rss <= aiohttp's", "crawl", "peak_rss", "ratio", 1.0, "aiohttp"),
    ("crawl throughput >= 3x spider-rs", "crawl", "throughput", "ratio", 3, "spider-rs"),
    ("crawl CPU per page <= 1/3 spider-rs's", "crawl", "cpu_per_1k", "ratio", 3, "spider-rs"),
    ("crawl peak_rss <= spider-rs's", "crawl", "peak_rss", "ratio", 1.0, "spider-rs"),
    ("crawl throughput >= 3x spider-rs-nobalance", "crawl", "throughput", "ratio", 3,
     "spider-rs-nobalance"),
    ("crawl CPU per page <= 1/3 spider-rs-nobalance's", "crawl", "cpu_per_1k", "ratio", 3,
     "spider-rs-nobalance"),
    ("crawl peak_rss <= spider-rs-nobalance's", "crawl", "peak_rss", "ratio", 1.0,
     "spider-rs-nobalance"),
    ("crawl throughput >= 10x crawlee", "crawl", "throughput", "ratio", 10, "crawlee"),
]

NM = "not measured"


# --------------------------------------------------------------------------
# data


def load(results_dir: str):
    """-> (records {(workload, runtime, metric): rec}, [(file, n, mtime)], [warnings])"""
    recs: dict = {}
    files = []
    warnings = []
    for path in sorted(glob.glob(os.path.join(results_dir, "*.jsonl"))):
        n = 0
        with open(path) as f:
            for lineno, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    r = json.loads(line)
                    key = (r["workload"], r["runtime"], r["metric"])
                    r["value"] = float(r["value"])
                    r.setdefault("unit", "")
                    r.setdefault("higher_is_better", True)
                    r.setdefault("reps", None)
                except (ValueError, KeyError, TypeError) as e:
                    warnings.append(f"{os.path.basename(path)}:{lineno}: skipped ({e})")
                    continue
                if key in recs:
                    warnings.append(f"{os.path.basename(path)}:{lineno}: duplicate {key}, "
                                    "later line wins")
                r["_file"] = os.path.basename(path)
                recs[key] = r
                n += 1
        mtime = datetime.datetime.fromtimestamp(os.path.getmtime(path))
        files.append((os.path.relpath(path, REPO), n, mtime))
    return recs, files, warnings


def workload_title(recs, wl: str) -> str:
    """The table's heading; "{pages}" is the page count the crawl records carry."""
    title = WORKLOAD_TITLE.get(wl, wl)
    if "{pages}" in title:
        counts = sorted({r["pages"] for k, r in recs.items() if k[0] == wl and "pages" in r})
        pages = "/".join(f"{n:,}" for n in counts) if counts else "100,000"
        title = title.replace("{pages}", pages)
    return title


def ordered(items, order):
    known = [x for x in order if x in items]
    return known + sorted(x for x in items if x not in order)


def ratio(recs, workload, metric, peer):
    """solo vs peer, oriented so >1 means solo is better; None if not computable."""
    s = recs.get((workload, SOLO, metric))
    p = recs.get((workload, peer, metric))
    if not s or not p:
        return None
    sv, pv = s["value"], p["value"]
    if sv <= 0 or pv <= 0:
        return None
    return sv / pv if s["higher_is_better"] else pv / sv


def fmt(v: float) -> str:
    a = abs(v)
    if a == 0:
        return "0"
    if a >= 1e9:
        return f"{v / 1e9:.2f} G"
    if a >= 1e6:
        return f"{v / 1e6:.2f} M"
    if a >= 1e4:
        return f"{v / 1e3:.1f} k"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def fmt_ratio(r) -> str:
    if r is None:
        return NM
    return f"{r:.2f}x" if r < 100 else f"{r:.0f}x"


# --------------------------------------------------------------------------
# machine


def cmd_output(cmd) -> str | None:
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return p.stdout.strip() if p.returncode == 0 and p.stdout.strip() else None


def machine_info() -> list[tuple[str, str]]:
    cpu = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    py = cmd_output([VENV_PY, "--version"]) if os.path.exists(VENV_PY) else None
    py = py or f"Python {platform.python_version()}"
    uvloop = None
    if os.path.exists(VENV_PY):
        uvloop = cmd_output([VENV_PY, "-c", "import uvloop; print(uvloop.__version__)"])
    mem = None
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
            mem = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return [
        ("CPU", cpu or "unknown"),
        ("cores", str(os.cpu_count())),
        ("memory", mem or "unknown"),
        ("kernel", f"{platform.system()} {platform.release()}"),
        ("rustc", cmd_output(["rustc", "--version"]) or "not found"),
        ("python", py + (" (bench/python/.venv)" if os.path.exists(VENV_PY) else "")),
        ("uvloop", uvloop or "not installed"),
        ("report generated", datetime.datetime.now().strftime("%Y-%m-%d %H:%M")),
    ]


# --------------------------------------------------------------------------
# chart


def draw_chart(recs, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workloads = [w for w in ordered({k[0] for k in recs}, WORKLOAD_ORDER)
                 if any(k[0] == w and k[2] == "throughput" for k in recs)]
    runtimes = ordered({k[1] for k in recs if k[2] == "throughput"}, RUNTIME_ORDER)
    if not workloads:
        raise RuntimeError("no throughput data")
    fig, ax = plt.subplots(figsize=(10, 5.5), dpi=110)
    width = 0.8 / max(1, len(runtimes))
    for i, rt in enumerate(runtimes):
        xs, ys = [], []
        for j, w in enumerate(workloads):
            r = recs.get((w, rt, "throughput"))
            if r and r["value"] > 0:
                xs.append(j - 0.4 + width * (i + 0.5))
                ys.append(r["value"])
        color = f"C{RUNTIME_ORDER.index(rt)}" if rt in RUNTIME_ORDER else None
        bars = ax.bar(xs, ys, width, label=rt, color=color)
        for b, y in zip(bars, ys):
            ax.annotate(fmt(y).replace(" ", ""), (b.get_x() + b.get_width() / 2, y),
                        ha="center", va="bottom", fontsize=6.5, rotation=90,
                        xytext=(0, 2), textcoords="offset points")
    ax.set_yscale("log")
    ax.set_xticks(range(len(workloads)))
    units = {w: next(r["unit"] for k, r in recs.items() if k[0] == w and k[2] == "throughput")
             for w in workloads}
    ax.set_xticklabels([f"{w}\n({units[w]})" for w in workloads])
    ax.set_ylabel("throughput (log scale, higher is better)")
    ax.set_title("solo benchmarks: throughput per workload and runtime (medians)")
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.set_axisbelow(True)
    import math

    vals = [r["value"] for k, r in recs.items()
            if k[2] == "throughput" and k[0] in workloads and r["value"] > 0]
    lo = 10 ** math.floor(math.log10(min(vals)))
    hi = 10 ** (math.log10(max(vals)) + 0.6)  # room for the labels and legend
    ax.set_ylim(lo, hi)
    ax.legend(ncol=len(runtimes), loc="upper right", fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def make_chart(results_dir: str, path: str) -> str | None:
    """Draw the chart here or via the venv; returns an error string or None."""
    try:
        import matplotlib  # noqa: F401

        recs, _, _ = load(results_dir)
        try:
            draw_chart(recs, path)
            return None
        except Exception as e:  # noqa: BLE001 - report, don't fail
            return f"{type(e).__name__}: {e}"
    except ImportError:
        pass
    if not os.path.exists(VENV_PY):
        return "matplotlib not available (run bench/python/run.sh once to make the venv)"
    p = subprocess.run([VENV_PY, os.path.abspath(__file__), "--chart-only", path,
                        "--results", results_dir],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        return (p.stdout.strip().splitlines() or ["chart failed"])[-1]
    return None


# --------------------------------------------------------------------------
# markdown


def md_table(head, rows, left=1) -> list[str]:
    """Markdown table; the first `left` columns left-aligned, the rest right."""
    out = ["| " + " | ".join(head) + " |",
           "| " + " | ".join("---" if i < left else "---:" for i in range(len(head))) + " |"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def build(recs, files, warnings, chart_rel, chart_err, notes) -> str:
    L = []
    L.append("# Benchmarks")
    L.append("")
    L.append("<!-- Generated by bench/report.py from bench/results/*.jsonl. Do not edit by "
             "hand: hand-written text goes in bench/notes.md. -->")
    L.append("")
    L.append("solo against tokio and smol (Rust) and against asyncio and uvloop (Python). "
             "Every number is a median over the reps listed under its table. "
             "A ratio column \"solo vs X\" is oriented so that **> 1 means solo is better**, "
             "for lower-is-better metrics too (it is X/solo there).")
    L.append("")

    L.append("## Machine")
    L.append("")
    for k, v in machine_info():
        L.append(f"- **{k}**: {v}")
    L.append("")
    if files:
        L.append("Result files:")
        L.append("")
        for path, n, mtime in files:
            L.append(f"- `{path}`: {n} values, written {mtime:%Y-%m-%d %H:%M}")
    else:
        L.append("No result files in `bench/results/` yet.")
    L.append("")
    for w in warnings:
        L.append(f"- warning: {w}")
    if warnings:
        L.append("")

    L.append("## Regenerate")
    L.append("")
    L.append("```sh")
    L += COMMANDS
    L.append("```")
    L.append("")
    L.append("The first writes the solo/tokio/smol numbers, the second the asyncio/uvloop "
             "numbers (it makes `bench/python/.venv` on first use; 3 reps, several minutes), "
             "the third this file and `bench/results/chart.png`.")
    L.append("")

    runtimes = ordered({k[1] for k in recs}, RUNTIME_ORDER)
    for rt in RUNTIME_ORDER[:3]:  # always show the Rust side, measured or not
        if rt not in runtimes:
            runtimes.insert(RUNTIME_ORDER.index(rt), rt)
    runtimes = ordered(set(runtimes), RUNTIME_ORDER)
    peers = [rt for rt in runtimes if rt != SOLO]

    L.append("## Targets")
    L.append("")
    rows = []
    met = missed = total = 0
    for label, wl, metric, kind, thr, peer in TARGETS:
        total += 1
        if kind == "ratio":
            r = ratio(recs, wl, metric, peer)
            measured = fmt_ratio(r)
            ok = None if r is None else r >= thr
        else:
            s = recs.get((wl, SOLO, metric))
            measured = NM if not s else f"{fmt(s['value'])} {s['unit']}"
            ok = None if not s else s["value"] <= thr
        status = NM if ok is None else ("**met**" if ok else "not met")
        met += ok is True
        missed += ok is False
        rows.append([label, measured, status])
    L += md_table(["target", "measured", "status"], rows, left=3)
    L.append("")
    L.append(f"{met} of {total} targets met, {missed} not met, "
             f"{total - met - missed} not measured.")
    L.append("")

    L.append("## Chart")
    L.append("")
    if chart_err is None:
        L.append(f"![throughput per workload and runtime, log scale]({chart_rel})")
    else:
        L.append(f"Chart not generated: {chart_err}.")
    L.append("")

    L.append("## Results")
    L.append("")
    all_wl = ordered({k[0] for k in recs} | set(WORKLOAD_ORDER), WORKLOAD_ORDER)
    all_runtimes = runtimes
    for wl in all_wl:
        L.append(f"### {workload_title(recs, wl)}")
        L.append("")
        metrics = ordered({k[2] for k in recs if k[0] == wl}, METRIC_ORDER)
        if not metrics:
            L.append(f"{NM.capitalize()}.")
            L.append("")
            continue
        scoped_only = {rt for v in WORKLOAD_RUNTIMES.values() for rt in v} - {
            k[1] for k in recs if k[0] not in WORKLOAD_RUNTIMES}
        if wl in WORKLOAD_RUNTIMES:
            runtimes = WORKLOAD_RUNTIMES[wl]
        else:
            runtimes = [rt for rt in all_runtimes if rt not in scoped_only]
        peers = [rt for rt in runtimes if rt != SOLO]
        head = ["metric", "unit"] + runtimes + [f"solo vs {p}" for p in peers]
        rows = []
        for m in metrics:
            any_rec = next(recs[k] for k in recs if k[0] == wl and k[2] == m)
            unit = any_rec["unit"]
            better = "higher" if any_rec["higher_is_better"] else "lower"
            row = [f"{m} ({better} is better)", unit]
            for rt in runtimes:
                r = recs.get((wl, rt, m))
                row.append(fmt(r["value"]) if r else NM)
            for p in peers:
                row.append(fmt_ratio(ratio(recs, wl, m, p)))
            rows.append(row)
        L += md_table(head, rows, left=2)
        reps = []
        for rt in runtimes:
            rs = {recs[k]["reps"] for k in recs if k[0] == wl and k[1] == rt}
            if rs:
                reps.append(f"{rt} {'/'.join(str(x) for x in sorted(rs, key=str))}")
        L.append("")
        L.append("Reps (medians of): " + (", ".join(reps) if reps else "none") + ".")
        L.append("")

    L.append("## Notes")
    L.append("")
    L.append("<!-- From bench/notes.md, verbatim. -->")
    L.append("")
    L.append(notes.rstrip() if notes is not None else "(bench/notes.md is missing.)")
    L.append("")
    return "\n".join(L)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(REPO, "BENCHMARKS.md"))
    ap.add_argument("--results", default=os.path.join(HERE, "results"))
    ap.add_argument("--notes", default=os.path.join(HERE, "notes.md"))
    ap.add_argument("--chart", default=None,
                    help="chart path (default: <results>/chart.png)")
    ap.add_argument("--no-chart", action="store_true")
    ap.add_argument("--chart-only", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.chart_only:
        recs, _, _ = load(args.results)
        draw_chart(recs, args.chart_only)
        return 0

    recs, files, warnings = load(args.results)
    chart = args.chart or os.path.join(args.results, "chart.png")
    if args.no_chart:
        chart_err = "--no-chart given"
    elif not any(k[2] == "throughput" for k in recs):
        chart_err = "no throughput data"
    else:
        chart_err = make_chart(args.results, chart)
    out_dir = os.path.dirname(os.path.abspath(args.out))
    chart_rel = os.path.relpath(os.path.abspath(chart), out_dir)
    notes = None
    if os.path.exists(args.notes):
        with open(args.notes) as f:
            notes = f.read()
    text = build(recs, files, warnings, chart_rel, chart_err, notes)
    with open(args.out, "w") as f:
        f.write(text)
    print(f"wrote {os.path.relpath(args.out)}"
          + ("" if chart_err else f" and {os.path.relpath(chart)}")
          + (f" (chart: {chart_err})" if chart_err else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
