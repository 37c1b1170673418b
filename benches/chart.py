#!/usr/bin/env python3
"""Turn criterion's output into the README table and a chart.

Reads <criterion dir>/**/new/estimates.json (median point estimates) and heap.json (written
by benches/peers/benches/heap.rs), prints a Markdown table of medians and ratios to each
group's reference, and writes a PNG (matplotlib) or, without matplotlib, an SVG drawn by hand.

usage: benches/chart.py [criterion dir] [output.png]
"""
import json
import os
import sys

# Each group: its reference (the ratio's denominator) and the order of its rows.
GROUPS = [
    ("records/AES-128-GCM", "ring"),
    ("records/AES-256-GCM", "ring"),
    ("records/ChaCha20-Poly1305", "ring"),
    ("handshake/server-auth", "ring-floor"),
    ("handshake/mutual-auth", "ring-floor"),
    ("endpoint/hello_verify_request", "hmac-sha256"),
    ("endpoint/routing", "10 sessions"),
    ("endpoint/routing-aead-only", "ring, 10 keys"),
    ("peers/handshake/server-auth", "ring-floor"),
    ("peers/handshake/mutual-auth", "ring-floor"),
    ("peers/records/AES-128-GCM", "ring"),
    ("records13/AES-128-GCM", "ring+masks"),
    ("records13/AES-256-GCM", "ring+masks"),
    ("records13/ChaCha20-Poly1305", "ring+masks"),
    ("handshake13/X25519/server-auth", "floor"),
    ("handshake13/X25519/mutual-auth", "floor"),
    ("handshake13/X25519MLKEM768/server-auth", "floor"),
    ("handshake13/X25519MLKEM768/mutual-auth", "floor"),
    ("peers/handshake13/X25519/server-auth", "floor"),
    ("peers/handshake13/X25519/mutual-auth", "floor"),
    ("peers/handshake13/X25519MLKEM768/server-auth", "floor"),
    ("peers/handshake13/X25519MLKEM768/mutual-auth", "floor"),
]


def load(root):
    out = {}
    for dirpath, _, files in os.walk(root):
        if "estimates.json" in files and os.path.basename(dirpath) == "new":
            bench_dir = os.path.dirname(dirpath)
            with open(os.path.join(dirpath, "estimates.json")) as f:
                est = json.load(f)
            bench_json = os.path.join(dirpath, "benchmark.json")
            if os.path.exists(bench_json):
                with open(bench_json) as f:
                    b = json.load(f)
                group, name = b["group_id"], b["function_id"] or b.get("value_str") or ""
            else:
                rel = os.path.relpath(bench_dir, root).split(os.sep)
                group, name = "/".join(rel[:-1]), rel[-1]
            out.setdefault(group, {})[name] = est["median"]["point_estimate"]
    return out


def fmt(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns:.0f} ns"


def table(data, heap):
    lines = ["| group | implementation | median | ratio to reference |", "|---|---|---:|---:|"]
    for group, ref in GROUPS:
        rows = data.get(group)
        if not rows or ref not in rows:
            continue
        base = rows[ref]
        for name in sorted(rows, key=lambda n: (n == ref, rows[n])):
            ratio = "1.00 (reference)" if name == ref else f"{rows[name] / base:.2f}×"
            lines.append(f"| {group} | {name} | {fmt(rows[name])} | {ratio} |")
    if heap:
        lines += ["", "| heap per established client+server pair | idle after handshake | after one record each way |",
                  "|---|---:|---:|"]
        for name in heap["idle"]:
            lines.append(f"| {name} | {heap['idle'][name]:,} B | {heap['after traffic'][name]:,} B |")
    return "\n".join(lines)


def panels(data):
    out = []
    for group, ref in GROUPS:
        rows = data.get(group)
        if rows and ref in rows:
            names = sorted(rows, key=lambda n: (n != ref, rows[n]))
            out.append((group, ref, [(n, rows[n] / rows[ref]) for n in names]))
    return out


def draw_png(data, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ps = panels(data)
    fig, axes = plt.subplots(len(ps), 1, figsize=(8, 1.0 + 0.42 * sum(len(p[2]) + 1 for p in ps)))
    for ax, (group, ref, rows) in zip(axes, ps):
        names = [n for n, _ in rows]
        vals = [v for _, v in rows]
        colors = ["#999999" if n == ref else ("#2a7ab0" if n == "dtls-engine" or "sessions" in n else "#d98c2b") for n in names]
        ax.barh(names, vals, color=colors)
        ax.invert_yaxis()
        ax.set_title(f"{group} (ratio to {ref}, median)", fontsize=9, loc="left")
        ax.tick_params(labelsize=8)
        ax.axvline(1.0, color="black", linewidth=0.6)
        for i, v in enumerate(vals):
            ax.text(v, i, f" {v:.2f}×", va="center", fontsize=7)
        ax.set_xlim(0, max(vals) * 1.18)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def draw_svg(data, path):
    ps = panels(data)
    y, rows_svg = 10, []
    for group, ref, rows in ps:
        rows_svg.append(f'<text x="10" y="{y + 12}" font-size="12" font-weight="bold">{group} (ratio to {ref})</text>')
        y += 20
        top = max(v for _, v in rows)
        for name, v in rows:
            w = 360 * v / top
            rows_svg.append(f'<text x="10" y="{y + 11}" font-size="11">{name}</text>')
            rows_svg.append(f'<rect x="170" y="{y}" width="{w:.1f}" height="13" fill="#2a7ab0"/>')
            rows_svg.append(f'<text x="{175 + w:.1f}" y="{y + 11}" font-size="11">{v:.2f}×</text>')
            y += 17
        y += 8
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" width="640" height="{y}">' + "".join(rows_svg) + "</svg>\n"
    with open(path, "w") as f:
        f.write(svg)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "criterion")
    out = sys.argv[2] if len(sys.argv) > 2 else "docs/bench.png"
    data = load(root)
    heap = None
    if os.path.exists(os.path.join(root, "heap.json")):
        with open(os.path.join(root, "heap.json")) as f:
            heap = json.load(f)
    print(table(data, heap))
    try:
        draw_png(data, out)
    except ImportError:
        out = os.path.splitext(out)[0] + ".svg"
        draw_svg(data, out)
    print(f"\nchart: {out}")


if __name__ == "__main__":
    main()
