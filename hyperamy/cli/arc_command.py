"""`hyperamy arc`: how feeling moves through an index, as numbers or a picture."""
from __future__ import annotations

import click
import numpy as np

from hyperamy.cli import main
from hyperamy.cli.common import emit_json
from hyperamy.cli.index_commands import index_option


@main.command()
@index_option
@click.option("--by", help="Draw along this field, one point per chapter, date or value (e.g. chapter, posted, "
                           "source) [default: index order, smoothed over --window documents].")
@click.option("--bin", "date_bin", type=click.Choice(["day", "week", "month", "year"]),
              help="With --by a date field: the span of one point [default: the finest giving at most --points].")
@click.option("--smooth", default=1, show_default=True, type=click.IntRange(1),
              help="With --by: average each point with its neighbours, this many points together.")
@click.option("--labels", "label_names", type=click.Choice(["ekman", "group", "six", "goemotions", "vad"]),
              default="ekman", show_default=True,
              help="Label set whose intensities are drawn (neutral has none), or vad: valence, arousal and "
                   "dominance (1-5, 3 neutral).")
@click.option("--window", type=click.IntRange(1), help="In index order: documents each point averages "
                                                      "[default: 1/50 of them].")
@click.option("--points", type=click.IntRange(2, 5000), default=200, show_default=True,
              help="Evenly spaced points to report or draw.")
@click.option("--where", help="SQL condition: only documents passing it, e.g. \"chapter <= 20\".")
@click.option("--entity", help="How this entity is felt, mention by mention, instead of whole documents.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False),
              help="Draw the arc into this image file (.png, .svg or .pdf).")
@click.option("--style", type=click.Choice(["lines", "areas"]), default="lines", show_default=True,
              help="With --plot: a line per class, or stacked areas.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: the points with each class's intensity.")
def arc(index, by, date_bin, smooth, label_names, window, points, where, entity, plot_path, style, as_json) -> None:
    """Show how feeling moves through the index: in index order, or chapter by chapter, date by
    date (--by).

    Each document adds its intensity per class (strength x probability, 0 = not felt, 1 = fully
    felt). In index order each point is the mean over the window of documents around it; along a
    field, the mean of one chapter's (date's, value's) documents, and a chapter with none is a gap.

    \b
    Examples:
      hyperamy arc --by chapter --plot arc.png
      hyperamy arc --by chapter --json
      hyperamy arc --by posted --bin month --plot months.png
      hyperamy arc --labels six --window 200 --json
      hyperamy arc --labels vad --by chapter --plot vad.png
      hyperamy arc --entity Mercédès --by chapter --plot mercedes.png
    """
    from hyperamy.engine import HyperAmy

    if (date_bin or smooth > 1) and not by:
        raise click.UsageError("--bin and --smooth draw along a field: give --by too")
    if window and by:
        raise click.UsageError("--window smooths index order; along a field (--by) use --smooth")
    result = HyperAmy.open(index).arc(by=by, labels=label_names, window=window, points=points, where=where,
                                      entity=entity, bin=date_bin, smooth=smooth)
    unit = f"{result.mentions:,} mentions of {result.entity}" if entity else f"{result.documents:,} documents"
    if plot_path:
        from hyperamy.arcs.plot import plot_arc

        plot_arc(result, plot_path, style=style)
        click.echo(f"arc of {unit} drawn into {plot_path}", err=True)
    if as_json:
        emit_json(result.to_dict())
        return
    if plot_path:
        return
    along = f"in {result.order}" if result.axis == "position" else f"by {result.order}"
    click.echo(f"{unit} {along}, {result.describe()} ({'1-5, 3 neutral' if result.affect else 'intensity 0-1'}):")
    if result.axis == "position":
        step = max(1, len(result.x) // 10)
        shown = [i for i in range(0, len(result.x), step)]
    else:
        shown = range(len(result.x))
    for i in shown:
        row = result.values[i]
        place = (f"document {int(result.x[i]):>7,}  {result.ids[i] or '(gap)':<20}" if result.axis == "position"
                 else f"{result.order} {_shown(result.x[i]):<12} {int(result.counts[i]):>6} {result.unit}")
        if np.isnan(row).all():
            click.echo(f"  {place}  (none)")
            continue
        top = range(len(row)) if result.affect else row.argsort()[::-1][:2]
        felt = ", ".join(f"{result.labels[j]} {row[j]:.3f}" for j in top)
        click.echo(f"  {place}  {felt}")


def _shown(value) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
