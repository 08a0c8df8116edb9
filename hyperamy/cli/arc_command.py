"""`hyperamy arc`: how feeling moves through an index, as numbers or a picture."""
from __future__ import annotations

import click

from hyperamy.cli import main
from hyperamy.cli.common import emit_json
from hyperamy.cli.index_commands import index_option


@main.command()
@index_option
@click.option("--by", help="Metadata field that orders the documents [default: index order].")
@click.option("--labels", "label_names", type=click.Choice(["ekman", "group", "six", "goemotions"]), default="ekman",
              show_default=True, help="Label set whose intensities are drawn (neutral has none).")
@click.option("--window", type=click.IntRange(1), help="Documents each point averages [default: 1/50 of them].")
@click.option("--points", type=click.IntRange(2, 5000), default=200, show_default=True,
              help="Evenly spaced points to report or draw.")
@click.option("--where", help="SQL condition: only documents passing it, e.g. \"chapter <= 20\".")
@click.option("--entity", help="How this entity is felt, mention by mention, instead of whole documents.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False),
              help="Draw the arc into this image file (.png, .svg or .pdf).")
@click.option("--style", type=click.Choice(["lines", "areas"]), default="lines", show_default=True,
              help="With --plot: a line per class, or stacked areas.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: the points with each class's intensity.")
def arc(index, by, label_names, window, points, where, entity, plot_path, style, as_json) -> None:
    """Show how feeling moves through the index, smoothed over a window of documents.

    Each document adds its intensity per class (strength x probability); each point is the mean
    over the window of documents around it.

    \b
    Examples:
      hyperamy arc --plot arc.png
      hyperamy arc --labels six --window 200 --json
      hyperamy arc --entity Mercédès --plot mercedes.png
    """
    from hyperamy.engine import HyperAmy

    result = HyperAmy.open(index).arc(by=by, labels=label_names, window=window, points=points, where=where,
                                      entity=entity)
    unit = f"{result.mentions:,} mentions of {result.entity}" if entity else f"{result.documents:,} documents"
    if plot_path:
        from hyperamy.arcs import plot_arc

        plot_arc(result, plot_path, style=style)
        click.echo(f"arc of {unit} drawn into {plot_path}", err=True)
    if as_json:
        emit_json(result.to_dict())
        return
    if plot_path:
        return
    click.echo(f"{unit} in {result.order}, each point the mean of {result.window}:")
    step = max(1, len(result.positions) // 10)
    for i in range(0, len(result.positions), step):
        row = result.values[i]
        top = row.argsort()[::-1][:2]
        felt = ", ".join(f"{result.labels[j]} {row[j]:.3f}" for j in top)
        click.echo(f"  document {int(result.positions[i]):>7,}  {result.ids[i]:<20}  {felt}")
