"""A small dashboard of a local run: sentiment counts and per-invocation latency, as HTML (inline SVG) and PNG.

No plotting library is in the locked sets, and the picture is two bar charts, so this draws them itself:
SVG for the page, and the same bars rasterised into a PNG with zlib (the PNG format needs nothing else).
"""

import html
import struct
import zlib
from pathlib import Path

COLORS = {"positive": (46, 160, 67), "neutral": (150, 150, 150), "negative": (207, 34, 46), "latency": (31, 111, 235)}


def _bars(values: list[tuple[str, float, str]], width: int, height: int) -> list[tuple[int, int, int, int, str, str]]:
    """(x, y, w, h, label, color key) of each bar, scaled to the plot box."""
    top = max((v for _, v, _ in values), default=1) or 1
    slot = width // max(len(values), 1)
    return [(i * slot + slot // 6, height - int(v / top * (height - 20)), slot * 2 // 3, int(v / top * (height - 20)),
             label, color) for i, (label, v, color) in enumerate(values)]


def _svg(title: str, values: list[tuple[str, float, str]], unit: str) -> str:
    width, height = 420, 220
    parts = [f'<svg width="{width}" height="{height + 40}" xmlns="http://www.w3.org/2000/svg">',
             f'<text x="4" y="14" font-size="14">{html.escape(title)}</text>']
    for (x, y, w, h, label, color), (_, value, _) in zip(_bars(values, width, height), values):
        r, g, b = COLORS[color]
        parts.append(f'<rect x="{x}" y="{y + 20}" width="{w}" height="{h}" fill="rgb({r},{g},{b})"/>')
        parts.append(f'<text x="{x}" y="{height + 34}" font-size="11">{html.escape(label)}</text>')
        parts.append(f'<text x="{x}" y="{y + 16}" font-size="11">{value:g}{unit}</text>')
    return "".join(parts) + "</svg>"


def _png(charts: list[list[tuple[str, float, str]]], path: Path) -> None:
    width, height, gap = 420, 220, 20
    total_w = width * len(charts) + gap * (len(charts) - 1)
    pixels = [[(255, 255, 255)] * total_w for _ in range(height)]
    axis = (60, 60, 60)
    for index, values in enumerate(charts):
        offset = index * (width + gap)
        # A frame and a base line per panel, so the two charts read apart (labels are on the HTML page).
        for col in range(offset, offset + width):
            pixels[0][col] = pixels[height - 1][col] = axis
        for row in range(height):
            pixels[row][offset] = pixels[row][offset + width - 1] = axis
        for x, y, w, h, _label, color in _bars(values, width, height):
            for row in range(max(y, 0), height):
                for col in range(offset + x, min(offset + x + w, total_w)):
                    pixels[row][col] = COLORS[color]
    raw = b"".join(b"\x00" + bytes(c for px in row for c in px) for row in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", total_w, height, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def write(out_dir: Path, counts: dict[str, int], latencies_ms: list[float], rows: list[dict], notes: list[str]) -> Path:
    """Writes dashboard.html and dashboard.png into OUT_DIR; returns the HTML path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    sentiment = [(k, float(counts.get(k, 0)), k) for k in ("positive", "neutral", "negative")]
    latency = [(f"#{i + 1}", round(ms), "latency") for i, ms in enumerate(latencies_ms)]
    _png([sentiment, latency], out_dir / "dashboard.png")
    table = "".join(
        f"<tr><td>{html.escape(r['source_id'])}</td><td>{html.escape(r['text'][:70])}</td>"
        f"<td>{html.escape(str(r.get('sentiment')))}</td><td>{r.get('score')}</td><td>{html.escape(str(r.get('status')))}</td></tr>"
        for r in rows)
    page = (
        "<!doctype html><meta charset='utf-8'><title>Analysis Lambda — local run</title>"
        "<h1>Analysis Lambda — local run</h1>"
        + "".join(f"<p>{html.escape(n)}</p>" for n in notes)
        + _svg("Sentiment counts", sentiment, "") + _svg("Invocation latency (ms)", latency, "")
        + "<table border='1' cellpadding='3'><tr><th>source_id</th><th>text</th><th>sentiment</th><th>score</th>"
        + f"<th>status</th></tr>{table}</table>"
    )
    (out_dir / "dashboard.html").write_text(page)
    return out_dir / "dashboard.html"
