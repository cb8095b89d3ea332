"""The local run's dashboard: a valid PNG whose bars follow the counts, and an HTML page with every item."""

import struct
import zlib
from pathlib import Path

from tools.local import dashboard

ROWS = [{"source_id": f"newsapi#{i}", "text": f"headline {i}", "sentiment": s, "score": 0.9, "status": "analyzed"}
        for i, s in enumerate(["positive", "positive", "negative", "neutral"])]


def decode_png(path: Path) -> tuple[int, int, list[bytes]]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    idat = data.index(b"IDAT")
    length = struct.unpack(">I", data[idat - 4:idat])[0]
    raw = zlib.decompress(data[idat + 4:idat + 4 + length])
    stride = 1 + width * 3
    return width, height, [raw[r * stride + 1:(r + 1) * stride] for r in range(height)]


def colored_columns(row: bytes, rgb: tuple[int, int, int]) -> int:
    return sum(1 for i in range(0, len(row), 3) if tuple(row[i:i + 3]) == rgb)


def test_png_bars_are_as_tall_as_the_counts(tmp_path):
    page = dashboard.write(tmp_path, {"positive": 2, "negative": 1, "neutral": 1}, [3000.0, 400.0], ROWS, ["note"])
    width, height, rows = decode_png(page.with_suffix(".png"))
    assert (width, height) == (420 * 2 + 20, 220)
    green, red = dashboard.COLORS["positive"], dashboard.COLORS["negative"]
    green_rows = sum(1 for row in rows if colored_columns(row, green))
    red_rows = sum(1 for row in rows if colored_columns(row, red))
    assert green_rows == 2 * red_rows or abs(green_rows - 2 * red_rows) <= 1


def test_html_lists_every_item_and_both_charts(tmp_path):
    page = dashboard.write(tmp_path, {"positive": 2, "negative": 1, "neutral": 1}, [3000.0, 400.0], ROWS, ["note"])
    html = page.read_text()
    assert html.count("<svg") == 2
    for row in ROWS:
        assert row["source_id"] in html
