"""search.py's report: the summary table with the ratios ours / baseline, the table by
query kind, the slowest queries, the recall cases, the sizes by table and the goals."""

from __future__ import annotations

import os
import platform
import sqlite3
import statistics
from typing import Any

from _common import percentile, print_table, table_row
from _search_archive import RECALL_CASES, Plan
from _search_measure import QUERY_MIX


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _mb(size: float) -> str:
    return f"{size / 1e6:.1f} MB"


def summarise(meta: dict[str, Any], results: dict[str, list[dict[str, Any]]],
              found: dict[str, list[bool]]) -> dict[str, Any]:
    """Per index: build time, size, latency percentiles of the 200 and recall."""
    summary: dict[str, Any] = {}
    for name in ("ours", "baseline"):
        mix = [r for r in results[name] if r["kind"] != "part of a word"]
        walls = [r["wall"] for r in mix]
        cpus = [r["cpu"] for r in mix]
        worst = max(mix, key=lambda r: r["wall"])
        summary[name] = {
            "build_wall_s": meta["build"][name]["wall_s"],
            "build_cpu_s": meta["build"][name]["cpu_s"],
            "size": meta["sizes"][name], "size_ratio": meta["sizes"][name] / meta["text_bytes"],
            "p50": percentile(walls, 0.5), "p95": percentile(walls, 0.95),
            "p50_cpu": percentile(cpus, 0.5), "p95_cpu": percentile(cpus, 0.95),
            "p95_best": percentile([r.get("best_wall", r["wall"]) for r in mix], 0.95),
            "max": worst["wall"], "worst": {k: worst.get(k) for k in ("query", "kind", "wall",
                                                                       "matches")},
            "recall": sum(found[name]) / len(found[name]),
            "found": sum(found[name]),
        }
    return summary


def print_summary(meta: dict[str, Any], summary: dict[str, Any], plan: Plan) -> None:
    o, b = summary["ours"], summary["baseline"]
    print()
    print(f"{plan.hours:g} hours: {plan.forums} forums + the recall forum, {meta['segments']:,}"
          f" segments, {_mb(meta['text_bytes'])} of UTF-8 text; SQLite"
          f" {sqlite3.sqlite_version}, Python {platform.python_version()},"
          f" load {os.getloadavg()[0]:.1f}")
    rows = []
    for name, label in (("baseline", "trigram + LIKE (baseline)"),
                        ("ours", "Kiwi morphology + substring (ours)")):
        s = summary[name]
        rows.append((label, f"{s['build_wall_s']:.0f} s", f"{s['build_cpu_s']:.0f} s",
                     _mb(s["size"]), f"x{s['size_ratio']:.2f}", _ms(s["p50"]), _ms(s["p95"]),
                     _ms(s["p50_cpu"]), _ms(s["p95_cpu"]), _ms(s["max"]), _ms(s["p95_best"]),
                     f"{s['found']}/30 ({s['recall']:.0%})"))
    rows.append(("ratio ours / baseline", f"x{o['build_wall_s'] / b['build_wall_s']:.1f}",
                 f"x{o['build_cpu_s'] / b['build_cpu_s']:.1f}", f"x{o['size'] / b['size']:.2f}",
                 "", f"x{o['p50'] / b['p50']:.2f}", f"x{o['p95'] / b['p95']:.2f}",
                 f"x{o['p50_cpu'] / b['p50_cpu']:.2f}", f"x{o['p95_cpu'] / b['p95_cpu']:.2f}",
                 f"x{o['max'] / b['max']:.2f}", f"x{o['p95_best'] / b['p95_best']:.2f}",
                 f"x{o['recall'] / max(b['recall'], 1e-9):.1f}"))
    print_table(("index", "build wall", "build CPU", "catalogue", "size / text", "p50", "p95",
                 "p50 CPU", "p95 CPU", "worst query", "p95 (best of N, extra)",
                 "recall (30 cases)"), rows)


def _worst(rows: list[dict[str, Any]]) -> str:
    worst = max(rows, key=lambda r: r["wall"])
    matches = f", {worst['matches']:,} matches" if "matches" in worst else ""
    return f"{worst['query']} ({_ms(worst['wall'])}{matches})"


def print_kinds(results: dict[str, list[dict[str, Any]]]) -> None:
    """Latency by query kind (medians of the passes; p50 and p95 over the queries, the
    worst query), the best-of-N p95 as an extra column; then the slowest queries."""
    print()
    print_table(("query kind", "n", "ours p50", "ours p95", "ours worst (matches)",
                 "ours p95 (best of N)", "baseline p50", "baseline p95", "ours hits (mean)",
                 "baseline hits (mean)"))
    for kind in [k for k, _ in QUERY_MIX] + ["part of a word"]:
        if kind == "part of a word":
            print(table_row("*not in the 200:*", *[""] * 9))
        ours_rows = [r for r in results["ours"] if r["kind"] == kind]
        old_rows = [r for r in results["baseline"] if r["kind"] == kind]
        ow, bw = [r["wall"] for r in ours_rows], [r["wall"] for r in old_rows]
        best = [r.get("best_wall", r["wall"]) for r in ours_rows]
        print(table_row(kind, str(len(ours_rows)), _ms(percentile(ow, .5)),
                        _ms(percentile(ow, .95)), _worst(ours_rows), _ms(percentile(best, .95)),
                        _ms(percentile(bw, .5)), _ms(percentile(bw, .95)),
                        f"{statistics.mean(r['hits'] for r in ours_rows):.1f}",
                        f"{statistics.mean(r['hits'] for r in old_rows):.1f}"))
    print()
    for name in ("ours", "baseline"):
        slow = sorted((r for r in results[name] if r["kind"] != "part of a word"),
                      key=lambda r: -r["wall"])[:12]
        print(f"slowest {name} (median of the passes): " + ", ".join(
            f"{r['query']} {_ms(r['wall'])}"
            + (f" ({r['matches']:,} matches)" if "matches" in r else "") for r in slow))


def kind_goals(results: dict[str, list[dict[str, Any]]]) -> dict[str, float]:
    """Each kind's p95 (ours, medians of the passes), parts of words included."""
    kinds = [k for k, _ in QUERY_MIX] + ["part of a word"]
    return {kind: percentile([r["wall"] for r in results["ours"] if r["kind"] == kind], .95)
            for kind in kinds if any(r["kind"] == kind for r in results["ours"])}


def print_recall(found: dict[str, list[bool]]) -> None:
    print()
    print_table(("#", "query", "target", "what", "ours", "baseline"),
                ((str(n), query, target, what, "yes" if mine else "no", "yes" if old else "no")
                 for n, ((query, target, what), mine, old) in enumerate(
                     zip(RECALL_CASES, found["ours"], found["baseline"], strict=True), start=1)))


def print_build(meta: dict[str, Any]) -> None:
    print()
    for name in ("ours", "baseline"):
        parts = ", ".join(f"{table} {_mb(size)}" for table, size in
                          meta["breakdown"][name].items() if size >= 1e5)
        print(f"{name} by table: {parts}")
    print(f"build: analysis in {meta['jobs']} process(es); ours' writing process used"
          f" {meta['build']['ours'].get('cpu_main_s', 0):.0f} s CPU; load at build"
          f" {meta.get('load_at_build')}")


def report(meta: dict[str, Any], results: dict[str, list[dict[str, Any]]],
           found: dict[str, list[bool]], plan: Plan, rounds: int) -> dict[str, Any]:
    """Print every table; return the summary and the goals, for results.json."""
    summary = summarise(meta, results, found)
    print_summary(meta, summary, plan)
    print_kinds(results)
    print_recall(found)
    print_build(meta)
    o = summary["ours"]
    per_kind = kind_goals(results)
    goals = {"size": o["size_ratio"] <= 2.5, "p95_every_kind": max(per_kind.values()) < 0.050,
             "worst": o["max"] < 0.150, "recall": o["found"] >= 29}
    print(f"goals: index <= 2.5x text: {goals['size']} (x{o['size_ratio']:.2f});"
          f" p95 < 50 ms for every kind: {goals['p95_every_kind']}"
          f" (highest {_ms(max(per_kind.values()))}); worst query < 150 ms: {goals['worst']}"
          f" ({_ms(o['max'])}, {o['worst']['query']}); recall >= 29/30: {goals['recall']}"
          f" ({o['found']}/30)")
    return {"summary": summary, "goals": goals, "p95_by_kind": per_kind, "rounds": rounds,
            "timing": "median of the timed passes", "load_end": os.getloadavg(),
            "sqlite": sqlite3.sqlite_version}


def growth_line(meta: dict[str, Any], results: dict[str, list[dict[str, Any]]],
                plan: Plan) -> dict[str, Any]:
    """Ours alone (a growth run): build, size, p50, p95, the worst query, p95 per kind."""
    mix = [r for r in results["ours"] if r["kind"] != "part of a word"]
    walls = [r["wall"] for r in mix]
    worst = max(mix, key=lambda r: r["wall"])
    line = {"hours": plan.hours, "segments": meta["segments"], "text_bytes": meta["text_bytes"],
            "build_wall_s": meta["build"]["ours"]["wall_s"], "size": meta["sizes"]["ours"],
            "size_ratio": meta["sizes"]["ours"] / meta["text_bytes"],
            "p50": percentile(walls, .5), "p95": percentile(walls, .95),
            "worst": {k: worst.get(k) for k in ("query", "wall", "matches")},
            "p95_by_kind": kind_goals(results), "load_end": os.getloadavg()[0]}
    print_table(("hours", "segments", "build wall", "catalogue", "size / text", "p50", "p95",
                 "worst query (matches)"),
                [(f"{plan.hours:g}", f"{meta['segments']:,}", f"{line['build_wall_s']:.0f} s",
                  _mb(line["size"]), f"x{line['size_ratio']:.2f}", _ms(line["p50"]),
                  _ms(line["p95"]), _worst(mix))])
    print("p95 by kind: " + ", ".join(f"{k} {_ms(v)}" for k, v in line["p95_by_kind"].items())
          + f"; load {line['load_end']:.1f}")
    return line
