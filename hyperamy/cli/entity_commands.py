"""`hyperamy entities` and `hyperamy entity NAME`: who is mentioned, and how each is felt."""
from __future__ import annotations

import click

from hyperamy.cli import main
from hyperamy.cli.common import emit_json
from hyperamy.cli.index_commands import index_option


@main.command()
@index_option
@click.option("--limit", "-n", type=click.IntRange(1), default=30, show_default=True, help="Entities to show.")
@click.option("--min-mentions", type=click.IntRange(1), default=1, show_default=True,
              help="Leave out entities mentioned fewer times.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line: name, mentions, documents, "
                                                       "source, strength, emotion, emotions.")
def entities(index, limit, min_mentions, as_json) -> None:
    """List the entities mentioned in the index, most mentioned first, with the emotion each is felt with most.

    \b
    Example:
      hyperamy entities -n 10
    """
    from hyperamy.engine import HyperAmy

    found = HyperAmy.open(index).entities(limit=limit, min_mentions=min_mentions)
    if as_json:
        for entry in found:
            emit_json(entry)
        return
    if not found:
        click.echo("no entities found", err=True)
        return
    width = max(len(e["name"]) for e in found)
    click.echo(f"{'entity':<{width}}  mentions  documents  felt most (mean intensity)")
    for entry in found:
        top = ", ".join(f"{e['label']} {e['intensity']:.3f}" for e in entry["emotions"][:2]) or "-"
        click.echo(f"{entry['name']:<{width}}  {entry['mentions']:>8,}  {entry['documents']:>9,}  {top}")


@main.command()
@click.argument("name")
@index_option
@click.option("--top", type=click.IntRange(1, 27), default=3, show_default=True, help="Emotions to show.")
@click.option("--passages", type=click.IntRange(1, 50), default=3, show_default=True,
              help="Passages per emotion, where NAME is felt with it most strongly.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False),
              help="Also draw NAME's arc over document order into this image file (.png, .svg, .pdf).")
@click.option("--labels", "label_names", type=click.Choice(["ekman", "group", "six", "goemotions"]),
              default="ekman", show_default=True, help="The label set of NAME's arc (--plot, --json).")
@click.option("--by", help="Draw NAME's arc along this field, one point per chapter, date or value "
                           "[default: index order].")
@click.option("--json", "as_json", is_flag=True, help="One JSON object, with NAME's arc over document order "
                                                       "(50 points; 200 with --plot).")
def entity(name, index, top, passages, plot_path, label_names, by, as_json) -> None:
    """Show how NAME is felt across the index: its mentions, top emotions, and the passages
    where it is felt most strongly with each.

    NAME matches without case or accents ("dantes" finds Dantès), and an alias from the
    index's --entities file finds its entity.

    \b
    Examples:
      hyperamy entity Villefort
      hyperamy entity Villefort --plot villefort.png --json
      hyperamy entity Villefort --by chapter --plot villefort.png
    """
    from hyperamy.engine import HyperAmy

    engine = HyperAmy.open(index)
    result = engine.entity(name, top=top, passages=passages)
    if plot_path or as_json:
        drawn = engine.arc(entity=name, labels=label_names, points=200 if plot_path else 50, by=by)
        result["arc"] = drawn.to_dict()
    if plot_path:
        from hyperamy.arcs.plot import plot_arc

        plot_arc(drawn, plot_path)
        click.echo(f"arc of {drawn.mentions:,} mentions of {drawn.entity} drawn into {plot_path}", err=True)
    if as_json:
        emit_json(result)
        return
    strength = "" if result["strength"] is None else f", mean strength {result['strength']:.3f}"
    named = "" if len(result["by_name"]) < 2 else " (as " + ", ".join(
        f"{key} {count:,}" for key, count in result["by_name"].items()) + ")"
    click.echo(f"{result['name']}: {result['mentions']:,} mentions{named} in {result['documents']:,} documents{strength}")
    for emotion in result["emotions"]:
        click.echo(f"\n{emotion['label']} (mean intensity {emotion['intensity']:.4f}), felt most in:")
        for passage in emotion["passages"]:
            click.echo(f"  {passage['id']}  intensity {passage['intensity']:.3f}  {passage['snippet']}")
    if result["also"]:
        also = ", ".join(f"{a['name']} ({a['mentions']})" for a in result["also"])
        click.echo(f"\nother names containing it: {also}")
