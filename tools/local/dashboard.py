"""The local run's dashboard: a PNG drawn with matplotlib (Agg) and an HTML page that embeds it and lists the items.

Three panels: how many items got each sentiment, the score histogram with the confidence threshold marked (items
below it are the `neutral` ones), and the duration of each invocation with the cold start marked. ``figure``
returns the matplotlib Figure so that tests read what is drawn (titles, axis labels, bar heights, annotations)
instead of pixels. matplotlib is in the tools' wheel set (@pip_test), never the image's.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from lambdas.shared.settings import Settings

SENTIMENTS = ("positive", "neutral", "negative")
COLORS = {"positive": "#2ea043", "neutral": "#8c8c8c", "negative": "#cf222e", "cold": "#bc4c00", "warm": "#1f6feb"}
# The handler's default CONFIDENCE_THRESHOLD: what the histogram marks unless the run says otherwise.
DEFAULT_THRESHOLD = Settings.model_fields["confidence_threshold"].default
TITLE = "Analysis Lambda — local run"


def _counts_panel(ax, counts: Mapping[str, int]) -> None:
    values = [int(counts.get(k, 0)) for k in SENTIMENTS]
    ax.bar_label(ax.bar(SENTIMENTS, values, color=[COLORS[k] for k in SENTIMENTS]))
    ax.set(title=f"Sentiment of {sum(values)} items", xlabel="sentiment", ylabel="items")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.margins(y=0.15)  # room for the value above the tallest bar


def _scores_panel(ax, rows: Sequence[Mapping], threshold: float) -> None:
    # A two-label softmax's top probability lies in [0.5, 1]; stacked by sentiment, so the neutral ones show
    # up left of the threshold line.
    by_sentiment = [[float(r["score"]) for r in rows if r.get("score") is not None and r.get("sentiment") == k]
                    for k in SENTIMENTS]
    ax.hist(by_sentiment, bins=20, range=(0.5, 1.0), stacked=True, color=[COLORS[k] for k in SENTIMENTS],
            label=list(SENTIMENTS))
    ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:g}")
    ax.set(title="Score (top softmax probability)", xlabel="score", ylabel="items", xlim=(0.5, 1.0))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="best", fontsize="small")


# Up to this many invocations every bar carries its value; beyond, labels would overlap, so only the cold starts do
# and a line marks the warm median.
LABEL_EVERY_BAR_UP_TO = 8


def _latency_panel(ax, latencies_ms: Sequence[float], cold_starts: Sequence[bool]) -> None:
    # Log scale: a cold start (seconds) and warm invocations (hundreds of ms) are both readable on one axis.
    colors = [COLORS["cold" if cold else "warm"] for cold in cold_starts]
    numbers = range(1, len(latencies_ms) + 1)
    bars = ax.bar(numbers, latencies_ms, color=colors)
    few = len(latencies_ms) <= LABEL_EVERY_BAR_UP_TO
    ax.bar_label(bars, labels=[f"{ms:,.0f} ms" if few or cold else "" for ms, cold in zip(latencies_ms, cold_starts)])
    handles = [Patch(color=COLORS["cold"], label="cold start"), Patch(color=COLORS["warm"], label="warm")]
    warm = sorted(ms for ms, cold in zip(latencies_ms, cold_starts) if not cold)
    if warm and not few:
        median = warm[len(warm) // 2]
        handles.append(ax.axhline(median, color=COLORS["warm"], linestyle=":", label=f"warm median {median:,.0f} ms"))
    ax.set_yscale("log")
    ax.set(title="Duration per invocation", xlabel="invocation", ylabel="duration (ms, log scale)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(handles=handles, loc="upper right", fontsize="small")
    ax.margins(y=0.2)


def figure(counts: Mapping[str, int], latencies_ms: Sequence[float], rows: Sequence[Mapping], *,
           threshold: float = DEFAULT_THRESHOLD, cold_starts: Sequence[bool] | None = None) -> Figure:
    """The dashboard as a Figure. cold_starts: one flag per invocation; by default the first one is cold (a fresh
    container's first invocation is the only one that loads the model)."""
    if cold_starts is None:
        cold_starts = [i == 0 for i in range(len(latencies_ms))]
    if len(cold_starts) != len(latencies_ms):
        raise ValueError(f"{len(latencies_ms)} latencies but {len(cold_starts)} cold-start flags")
    fig = Figure(figsize=(15, 4.8), layout="constrained")
    fig.suptitle(TITLE)
    counts_ax, scores_ax, latency_ax = fig.subplots(1, 3)
    _counts_panel(counts_ax, counts)
    _scores_panel(scores_ax, rows, threshold)
    _latency_panel(latency_ax, latencies_ms, cold_starts)
    return fig


def png_bytes(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)  # a bare Figure renders through Agg: no pyplot, no display
    return buf.getvalue()


def _page(png: bytes, rows: Sequence[Mapping], notes: Sequence[str]) -> str:
    table = "".join(
        f"<tr><td>{html.escape(str(r.get('source_id')))}</td><td>{html.escape(str(r.get('text')))}</td>"
        f"<td>{html.escape(str(r.get('sentiment')))}</td><td>{html.escape(str(r.get('score')))}</td>"
        f"<td>{html.escape(str(r.get('status')))}</td></tr>"
        for r in rows)
    return (
        f"<!doctype html><meta charset='utf-8'><title>{TITLE}</title><h1>{TITLE}</h1>"
        + "".join(f"<p>{html.escape(n)}</p>" for n in notes)
        + f"<img style='max-width:100%' alt='sentiment counts, score histogram, duration per invocation' "
          f"src='data:image/png;base64,{base64.b64encode(png).decode()}'>"
        + "<table border='1' cellpadding='3'><tr><th>source_id</th><th>text</th><th>sentiment</th><th>score</th>"
        + f"<th>status</th></tr>{table}</table>"
    )


def write(out_dir: Path, counts: Mapping[str, int], latencies_ms: Sequence[float], rows: Sequence[Mapping],
          notes: Sequence[str], *, threshold: float = DEFAULT_THRESHOLD,
          cold_starts: Sequence[bool] | None = None) -> Path:
    """Writes dashboard.png and dashboard.html (the PNG embedded, every item listed) into out_dir; returns the
    HTML path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    png = png_bytes(figure(counts, latencies_ms, rows, threshold=threshold, cold_starts=cold_starts))
    (out_dir / "dashboard.png").write_bytes(png)
    page = out_dir / "dashboard.html"
    page.write_text(_page(png, rows, notes), encoding="utf-8")
    return page
