"""Pictures of arcs (matplotlib: the only module outside training that imports it)."""
from __future__ import annotations

import datetime
import textwrap

import numpy as np

from hyperamy.arcs.arc import Arc
from hyperamy.errors import InputError


def plot_arc(result: Arc, path, style: str = "lines", title: str | None = None) -> None:
    """Draw an arc as lines (gaps left open) or stacked areas, with the scale and what a point is
    stated on the axes, into an image file."""
    from matplotlib.figure import Figure

    if style not in ("lines", "areas"):
        raise InputError(f"style must be lines or areas, not {style!r}")
    if style == "areas" and result.affect:
        raise InputError("valence, arousal and dominance are ratings, not shares: draw them as lines")
    figure = Figure(figsize=(11, 5), dpi=110)  # no pyplot: no global state, no backend chosen for the process
    axes = figure.subplots()
    x = list(result.x)
    if result.axis == "date":
        x = [datetime.datetime(d.year, d.month, d.day) for d in x]
    elif result.axis == "value":
        labels, x = [str(v) for v in x], list(range(len(x)))
        axes.set_xticks(x, labels, rotation=30 if len(labels) > 6 else 0, ha="right" if len(labels) > 6 else "center")
    sparse = np.count_nonzero(~np.isnan(result.values[:, 0])) <= 80
    if style == "areas":
        axes.stackplot(x, np.nan_to_num(result.values.T), labels=result.labels, alpha=0.85)
    else:
        alone = _isolated(result.values[:, 0])  # a point between gaps draws no line: mark it
        for i, name in enumerate(result.labels):
            (line,) = axes.plot(x, result.values[:, i], label=name, linewidth=1.6, marker="o" if sparse else None,
                                markersize=3)
            if not sparse and alone.any():
                axes.plot([x[j] for j in np.flatnonzero(alone)], result.values[alone, i], linestyle="none",
                          marker="o", markersize=3, color=line.get_color())
    if result.axis == "position":
        axes.set_xlabel(f"document in index order (of {result.documents:,})")
    elif result.axis == "date":
        axes.set_xlabel(f"{result.order} (by {result.bin})")
        figure.autofmt_xdate()
    else:
        axes.set_xlabel(result.order)
        if result.axis == "number" and len(x) <= 40:
            axes.set_xticks(x)
    gaps = int(np.isnan(result.values[:, 0]).sum())
    per = {"position": "gap", "number": result.order, "date": result.bin, "value": "value"}[result.axis]
    gap_note = f"; {gaps} {per}{'s' if gaps != 1 else ''} with no {result.unit} (left open)" if gaps else ""
    if result.affect:
        axes.set_ylabel("mean rating (1 to 5, EmoBank's scale)")
        axes.axhline(3.0, color="#888", linewidth=0.8, linestyle="--")
    else:
        axes.set_ylabel("mean intensity (0 = not felt, 1 = fully felt)")
    axes.set_ylim(*y_range(result, style))
    along = "" if result.axis == "position" else f", {result.order} by {result.order}" if result.axis != "date" \
        else f", {result.bin} by {result.bin}"
    what = "Valence, arousal and dominance" if result.affect else "How feeling moves"
    subject = (f"How {result.entity} is felt{along} ({result.mentions:,} mentions)" if result.entity
               else f"{what} through the index{along}")
    axes.set_title(title or subject)
    meaning = ("Valence (unpleasant 1 to pleasant 5), arousal (calm to excited), dominance (controlled to in "
               "control), as EmoBank rates sentences; dashed: 3, neutral." if result.affect
               else "Intensity is strength x probability of each emotion.")
    axes.text(0, -0.13 if result.axis != "date" else -0.25, textwrap.fill(f"{result.describe()}{gap_note}. {meaning}", 150),
              transform=axes.transAxes, fontsize=8, color="#444", va="top")
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)


def y_range(result: Arc, style: str) -> tuple[float, float]:
    """The vertical axis's (low, high): for ratings, the spread there is with 3 (neutral) in view;
    for intensities, 0 to a little above the highest point drawn (for stacked areas, the stack's)."""
    if result.affect:
        finite = result.values[np.isfinite(result.values)]
        low, high = (float(finite.min()), float(finite.max())) if len(finite) else (1.0, 5.0)
        pad = max(0.1, (high - low) * 0.15)
        return max(1.0, min(low - pad, 2.9)), min(5.0, max(high + pad, 3.1))
    drawn = np.nansum(result.values, axis=1) if style == "areas" else result.values
    top = float(np.nanmax(drawn)) if np.isfinite(drawn).any() else 1.0
    return 0.0, max(top * 1.15, 0.01)


def _isolated(column: np.ndarray) -> np.ndarray:
    """Which points have data while both neighbours (or the edge) have none."""
    present = ~np.isnan(column)
    before = np.concatenate([[False], present[:-1]])
    after = np.concatenate([present[1:], [False]])
    return present & ~before & ~after
