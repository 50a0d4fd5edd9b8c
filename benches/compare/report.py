#!/usr/bin/env python3
"""Turn OUT/raw.csv (from run.sh) into OUT/results.md (medians, ratios to the best peer) and
OUT/chart.svg (wall and CPU seconds, hand-written SVG: no packages needed).

  report.py OUT_DIR
"""
import csv
import os
import statistics
import sys
from html import escape

SCENARIOS = {
    "up-big-sink": "large file upload, sink",
    "down-big-sink": "large file download, sink",
    "up-small-sink": "small files upload, sink",
    "down-small-sink": "small files download, sink",
    "up-big-real": "large file upload, real",
    "down-big-real": "large file download, real",
    "up-small-real": "small files upload, real",
    "down-small-real": "small files download, real",
    "rm-small-real": "small files list + delete, real",
    "copy-small-across": "small files copied, sink to real",
}
NAMES = {"ferry": "ferry", "crt": "aws-c-s3 (awscrt)", "s5cmd": "s5cmd", "rclone": "rclone", "aws": "aws CLI"}
COLORS = {"ferry": "#d62728", "crt": "#1f77b4", "s5cmd": "#2ca02c", "rclone": "#9467bd", "aws": "#8c564b"}
METRICS = ("wall", "cpu", "rss")
CLIP = 3


def load(path):
    runs = {}
    with open(path) as f:
        for row in csv.DictReader(f):
            e = runs.setdefault((row["scenario"], row["client"]),
                                {"wall": [], "cpu": [], "rss": [], "bad": {}})
            if row["status"] != "ok" or not row["wall_s"]:
                e["bad"][row["status"]] = e["bad"].get(row["status"], 0) + 1
                continue
            e["wall"].append(float(row["wall_s"]))
            e["cpu"].append(float(row["user_s"]) + float(row["sys_s"]))
            if row["rss_kib"]:
                e["rss"].append(int(row["rss_kib"]) / 1024)
    return runs


def medians(runs):
    out = {}
    for key, e in runs.items():
        m = {k: statistics.median(e[k]) if e[k] else None for k in METRICS}
        m["n"], m["bad"] = len(e["wall"]), e["bad"]
        out[key] = m
    return out


def best_peer(med, scenario, metric):
    vals = [m[metric] for (s, c), m in med.items() if s == scenario and c != "ferry" and m[metric] is not None]
    return min(vals, default=None)


def fmt(v, digits):
    return "–" if v is None else f"{v:.{digits}f}"


def ratio(v, best):
    return "–" if v is None or not best else f"{v / best:.2f}×"


def table(med, order):
    lines = ["| scenario | client | wall s | CPU s | peak RSS MiB | wall ÷ best peer | CPU ÷ best peer "
             "| RSS ÷ best peer | runs |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for s in order:
        best = {k: best_peer(med, s, k) for k in METRICS}
        rows = sorted(((c, m) for (sc, c), m in med.items() if sc == s),
                      key=lambda cm: (cm[1]["n"] == 0, cm[1]["wall"] or 0))
        for c, m in rows:
            runs = str(m["n"]) + "".join(f", {k} {v}" for k, v in sorted(m["bad"].items()))
            name = f"**{NAMES.get(c, c)}**" if c == "ferry" else NAMES.get(c, c)
            if not m["n"]:
                lines.append(f"| {SCENARIOS.get(s, s)} | {name} | no successful run | | | | | | {runs} |")
                continue
            cells = [fmt(m["wall"], 2), fmt(m["cpu"], 2), fmt(m["rss"], 0),
                     ratio(m["wall"], best["wall"]), ratio(m["cpu"], best["cpu"]), ratio(m["rss"], best["rss"])]
            if c == "ferry":
                cells[3:] = [f"**{x}**" if x != "–" else x for x in cells[3:]]
            lines.append(f"| {SCENARIOS.get(s, s)} | {name} | " + " | ".join(cells) + f" | {runs} |")
    return "\n".join(lines)


def chart(med, order, clients):
    """Two panels (wall s, CPU s), one group of horizontal bars per scenario, one bar per client.
    Each group is scaled to its largest value, or to CLIP times its best peer's where that is less
    (the aws CLI is often 5-20x slower): longer bars are cut, with a break mark and their value."""
    bar_h, gap, label_w, panel_w, val_w = 13, 12, 200, 300, 60
    groups = []
    for s in order:
        bars = [(c, med[(s, c)]) for c in clients if (s, c) in med and med[(s, c)]["n"]]
        if bars:
            groups.append((s, bars))
    height = 50 + sum(len(b) * bar_h + gap + 14 for _, b in groups) + 30
    width = label_w + 2 * (panel_w + val_w) + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           '<text x="10" y="18" font-size="14" font-weight="bold">ferry and its peers: medians '
           f'(shorter is better; bars cut at {CLIP}× the best peer’s)</text>']
    panels = [("wall", "wall seconds", label_w), ("cpu", "client CPU seconds (user + sys)", label_w + panel_w + val_w)]
    for _, title, x0 in panels:
        out.append(f'<text x="{x0}" y="38" font-weight="bold">{escape(title)}</text>')
    y = 50
    for s, bars in groups:
        out.append(f'<text x="10" y="{y + 10}" font-weight="bold">{escape(SCENARIOS.get(s, s))}</text>')
        y += 14
        tops = {}
        for k, _, _ in panels:
            vals = [m[k] for _, m in bars]
            peers = [m[k] for c, m in bars if c != "ferry"] or vals
            tops[k] = min(max(vals), CLIP * min(peers)) or max(vals) or 1
        for c, m in bars:
            out.append(f'<text x="{label_w - 6}" y="{y + bar_h - 3}" text-anchor="end">{escape(NAMES.get(c, c))}</text>')
            for k, _, x0 in panels:
                cut = m[k] > tops[k] * 1.0001
                w = panel_w if cut else max(1.0, m[k] / tops[k] * panel_w)
                out.append(f'<rect x="{x0}" y="{y + 1}" width="{w:.1f}" height="{bar_h - 2}" '
                           f'fill="{COLORS.get(c, "#777")}"/>')
                if cut:  # a white double slash across the bar: not to scale
                    for dx in (-14, -9):
                        out.append(f'<line x1="{x0 + w + dx - 3:.1f}" y1="{y + bar_h}" x2="{x0 + w + dx + 3:.1f}" '
                                   f'y2="{y}" stroke="white" stroke-width="2"/>')
                out.append(f'<text x="{x0 + w + 4:.1f}" y="{y + bar_h - 3}">{m[k]:.2f}</text>')
            y += bar_h
        y += gap
    x = 10
    for c in clients:
        out.append(f'<rect x="{x}" y="{y + 5}" width="10" height="10" fill="{COLORS.get(c, "#777")}"/>'
                   f'<text x="{x + 14}" y="{y + 14}">{escape(NAMES.get(c, c))}</text>')
        x += 130
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out_dir = sys.argv[1]
    med = medians(load(os.path.join(out_dir, "raw.csv")))
    seen = {s for s, _ in med}
    order = [s for s in SCENARIOS if s in seen] + sorted(seen - set(SCENARIOS))
    clients = [c for c in NAMES if any(c == cc for _, cc in med)]
    meta = []
    meta_path = os.path.join(out_dir, "meta.txt")
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = [f"- {line[2:].rstrip()}" for line in f if line.startswith("# ")]
    md = ["# ferry against its peers", ""] + meta + [
        "",
        "Medians over the successful runs. CPU = user + sys of the client process (and its children) "
        "alone; peak RSS = its maximum resident set. Ratios are to the best *peer* (not ferry) on the "
        "same column in the same scenario: below 1× ferry is ahead. aws-c-s3's figures include about "
        "0.1 s of Python start-up; it has no listing, so its directory download is told the keys, "
        "and it has no delete. rclone verifies each upload with a HEAD and so is not run on uploads "
        "to the sink. Runs: successful, then failed / timeout / wrong (a result that did not verify).",
        "", table(med, order), "", "![wall and CPU seconds](chart.svg)", ""]
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write("\n".join(md))
    with open(os.path.join(out_dir, "chart.svg"), "w") as f:
        f.write(chart(med, order, clients))
    print("\n".join(md))


if __name__ == "__main__":
    main()
