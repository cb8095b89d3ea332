"""The local run's dashboard: what the figure draws (read through matplotlib's objects) and the HTML page."""

import base64
import re

import pytest
from matplotlib.image import imread

from tools.local import dashboard

ROWS = [{"source_id": f"newsapi#{i}", "text": f"headline <{i}>", "sentiment": s, "score": score, "status": "analyzed"}
        for i, (s, score) in enumerate([("positive", 0.91), ("positive", 0.83), ("negative", 0.97), ("neutral", 0.55)])]
COUNTS = {"positive": 2, "negative": 1, "neutral": 1}
LATENCIES = [3012.4, 401.0, 388.6]


@pytest.fixture(name="axes")
def _axes():
    fig = dashboard.figure(COUNTS, LATENCIES, ROWS, threshold=0.6)
    assert fig._suptitle.get_text() == dashboard.TITLE
    return dict(zip(("counts", "scores", "latency"), fig.axes))


def bar_heights(ax) -> list[float]:
    return [patch.get_height() for patch in ax.containers[0]]


def texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_counts_panel_has_title_axes_and_a_value_on_each_bar(axes):
    ax = axes["counts"]
    assert ax.get_title() == "Sentiment of 4 items"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("sentiment", "items")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["positive", "neutral", "negative"]
    assert bar_heights(ax) == [2, 1, 1]
    assert texts(ax) == ["2", "1", "1"]


def test_score_histogram_counts_every_scored_item_and_marks_the_threshold(axes):
    ax = axes["scores"]
    assert ax.get_title() == "Score (top softmax probability)"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("score", "items")
    # Stacked by sentiment: the top of the last stack holds every item; the neutral one lies left of the line.
    assert sum(p.get_height() for c in ax.containers for p in c) == len(ROWS)
    neutral_bars = [p for p in ax.containers[1] if p.get_height()]
    assert len(neutral_bars) == 1 and neutral_bars[0].get_x() < 0.6
    [line] = ax.lines
    assert list(line.get_xdata()) == [0.6, 0.6]
    assert "threshold 0.6" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_latency_panel_marks_the_cold_invocation(axes):
    ax = axes["latency"]
    assert ax.get_title() == "Duration per invocation"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("invocation", "duration (ms, log scale)")
    assert ax.get_yscale() == "log"
    assert bar_heights(ax) == LATENCIES
    assert texts(ax) == ["3,012 ms", "401 ms", "389 ms"]  # few bars: each carries its value
    colors = [patch.get_facecolor() for patch in ax.containers[0]]
    assert colors[0] != colors[1] and colors[1] == colors[2]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["cold start", "warm"]


def test_with_many_invocations_only_cold_starts_are_labelled_and_a_line_marks_the_warm_median():
    latencies = [9000.0] + [300.0 + i for i in range(20)]
    ax = dashboard.figure(COUNTS, latencies, ROWS).axes[2]
    assert [t for t in texts(ax) if t] == ["9,000 ms"]
    [median] = ax.lines
    assert list(median.get_ydata()) == [310.0, 310.0]
    assert "warm median 310 ms" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_cold_flags_from_the_caller_win():
    fig = dashboard.figure(COUNTS, LATENCIES, ROWS, cold_starts=[True, False, True])
    colors = [patch.get_facecolor() for patch in fig.axes[2].containers[0]]
    assert colors[0] == colors[2] != colors[1]
    with pytest.raises(ValueError):
        dashboard.figure(COUNTS, LATENCIES, ROWS, cold_starts=[True])


def test_page_embeds_the_png_and_lists_every_item(tmp_path):
    page = dashboard.write(tmp_path, COUNTS, LATENCIES, ROWS, ["Model: demo"])
    png = page.with_suffix(".png")
    height, width, _ = imread(png).shape
    assert (width, height) == (1500, 480)
    html = page.read_text()
    [data] = re.findall(r"src='data:image/png;base64,([^']+)'", html)
    assert base64.b64decode(data) == png.read_bytes()
    assert "<p>Model: demo</p>" in html
    for row in ROWS:
        assert row["source_id"] in html
        assert f"headline &lt;{row['source_id'][-1]}&gt;" in html  # escaped
        assert f"<td>{row['sentiment']}</td><td>{row['score']}</td>" in html
