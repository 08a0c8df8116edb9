"""`hyperamy get`, `list`, `count`, `export`, `compact` and `check`."""
from __future__ import annotations

import csv
import sys

import click

from hyperamy.cli import main
from hyperamy.cli.common import emit_json
from hyperamy.cli.index_commands import index_option, wait_option


def _heading(document: dict) -> str:
    felt = ", ".join(document["emotions"] or [document["emotion"]])
    return f"{document['id']}  kappa {document['kappa']:.1f} ({felt})"


def _line(document: dict, width: int = 100) -> str:
    """One line a document: its heading and the start of its text, line breaks as spaces."""
    text = " ".join(document["text"].split())
    return f"{_heading(document)}  {text[:width - 1] + '…' if len(text) > width else text}"


def _whole(document: dict) -> str:
    """A document in full: its heading, its metadata, then its text as it is stored."""
    fields = "  ".join(f"{key}={value}" for key, value in document["metadata"].items())
    return "\n".join([_heading(document), *([fields] if fields else []), "", document["text"], ""])


@main.command()
@click.argument("ids", nargs=-1, required=True)
@index_option
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one document a line.")
def get(ids, index, as_json) -> None:
    """Show documents by id (exit 1 if any is missing).

    \b
    Example:
      hyperamy get chunk_12 --json
    """
    from hyperamy import browse
    from hyperamy.engine import HyperAmy

    found = browse.get(HyperAmy.open(index).refresh(), list(ids))
    for i in ids:
        if i in found:
            emit_json(found[i]) if as_json else click.echo(_whole(found[i]))
    missing = [i for i in ids if i not in found]
    if missing:
        click.echo(f"Error: not found: {', '.join(missing)}", err=True)
        sys.exit(1)


@main.command(name="list")
@index_option
@click.option("--where", help="SQL condition over metadata, e.g. \"kappa > 20\".")
@click.option("--limit", "-n", type=click.IntRange(0), help="At most this many documents.")
@click.option("--offset", default=0, show_default=True, type=click.IntRange(0), help="Skip this many first.")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one document a line.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header: id, text, kappa, emotion, then metadata.")
def list_command(index, where, limit, offset, as_json, as_csv) -> None:
    """List documents in index order.

    \b
    Example:
      hyperamy list --where "emotion = 'fear'" -n 5
    """
    from hyperamy.engine import HyperAmy

    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    documents = HyperAmy.open(index).list(where=where, limit=limit, offset=offset)
    if as_csv:
        metadata = list(dict.fromkeys(k for d in documents for k in d["metadata"]))
        out = csv.writer(sys.stdout)
        out.writerow(["id", "text", "kappa", "emotion", "emotions", *metadata])
        for d in documents:
            out.writerow([d["id"], d["text"], round(d["kappa"], 4), d["emotion"], ";".join(d["emotions"] or []),
                          *(d["metadata"].get(k) for k in metadata)])
        return
    for document in documents:
        emit_json(document) if as_json else click.echo(_line(document))


@main.command()
@index_option
@click.option("--where", help="SQL condition over metadata.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def count(index, where, as_json) -> None:
    """Count documents (those passing --where, when given).

    \b
    Example:
      hyperamy count --where "kappa > 20"
    """
    from hyperamy.engine import HyperAmy

    number = HyperAmy.open(index).count(where)
    emit_json({"documents": number}) if as_json else click.echo(number)


@main.command()
@click.argument("output", type=click.Path(dir_okay=False))
@index_option
@click.option("--format", "-f", "format_", type=click.Choice(["jsonl", "csv", "parquet"]),
              help="Output format [default: from OUTPUT's suffix: .jsonl, .csv, .parquet].")
@click.option("--vectors", is_flag=True, help="Include each document's semantic vector and emotion mu.")
@click.option("--where", help="SQL condition over metadata: export only those documents.")
def export(output, index, format_, vectors, where) -> None:
    """Write the documents (texts, metadata, emotions) to a JSON Lines, CSV or Parquet file.

    \b
    Example:
      hyperamy export documents.parquet --vectors
    """
    from hyperamy.engine import HyperAmy

    written = HyperAmy.open(index).export(output, format_, vectors, where)
    click.echo(f"wrote {written} documents to {output}", err=True)


@main.command()
@index_option
@wait_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def compact(index, wait, as_json) -> None:
    """Merge all segments into one and drop deleted documents for good.

    Writes also merge segments on their own as they pile up; this does all of it now.

    \b
    Example:
      hyperamy compact
    """
    from hyperamy.engine import HyperAmy

    report = HyperAmy.open(index, wait=wait).compact()
    if as_json:
        emit_json(report)
        return
    click.echo(f"{report['before']['segments']} segments and {report['before']['deleted']} deleted documents "
               f"-> {report['after']['segments']} segment(s), {report['documents']} documents")


@main.command()
@index_option
@click.option("--repair", is_flag=True, help="Rebuild damaged files that derive from the stored texts.")
@click.option("--drop-damaged", is_flag=True, help="With --repair: remove segments whose texts are damaged.")
@wait_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def check(index, repair, drop_damaged, wait, as_json) -> None:
    """Verify every file of an index against the sizes and checksums in its manifest.

    Exit 0 when the index is sound (or was repaired), 1 when a problem remains.

    \b
    Example:
      hyperamy check --repair
    """
    from hyperamy.engine import HyperAmy

    if drop_damaged and not repair:
        raise click.UsageError("--drop-damaged goes with --repair")
    report = HyperAmy.open(index, load=False, wait=wait).check(repair=repair, drop_damaged=drop_damaged)
    remaining = bool(report["problems"]) and (not repair or report["unrepairable"])
    if as_json:
        emit_json({**report, "ok": not remaining})
    else:
        for problem in report["problems"]:
            click.echo(f"damaged: {problem['file']}: {problem['problem']}", err=True)
        for done in report["repaired"]:
            click.echo(f"repaired segment {done['segment']} ({', '.join(done['files'])})", err=True)
        for done in report["dropped"]:
            click.echo(f"dropped segment {done['segment']} ({done['documents']} documents)", err=True)
        for reason in report["unrepairable"]:
            click.echo(f"cannot repair: {reason}", err=True)
        if not report["problems"]:
            click.echo(f"{report['index']}: {report['segments']} segments, every file matches its checksum")
        elif not remaining:
            click.echo(f"{report['index']}: repaired")
    if remaining:
        sys.exit(1)


@main.command()
@index_option
@click.option("--shards", "-n", required=True, type=click.IntRange(1, 1024), help="Search shards to split into.")
@wait_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def shard(index, shards, wait, as_json) -> None:
    """Split an index into N segments of about equal size, one per search shard.

    `hyperamy serve --shards N` then serves it from N Ray actors; later merges keep at least N
    segments.

    \b
    Example:
      hyperamy shard --shards 4
    """
    from hyperamy.engine import HyperAmy

    report = HyperAmy.open(index, wait=wait).reshard(shards)
    emit_json(report) if as_json else click.echo(f"{report['segments']} segments, {report['documents']} documents")


@main.command()
@index_option
@click.option("--top", type=click.IntRange(1, 27), default=3, show_default=True, help="Emotions to show per book.")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one book a line.")
def books(index, top, as_json) -> None:
    """List the books in the index: passages, chapters, and how each is felt.

    A book is every passage with one `source` (the file it was indexed from). Intensity is
    strength x probability, 0-1, averaged over the book's passages.

    \b
    Example:
      hyperamy books
    """
    from hyperamy.engine import HyperAmy

    shelf = HyperAmy.open(index).books(top=top)
    if as_json:
        for book in shelf:
            emit_json(book)
        return
    if not shelf:
        click.echo("no books in this index", err=True)
        return
    width = max(len(b["source"]) for b in shelf)
    click.echo(f"{'book':<{width}}  passages  chapters  characters  strength  felt most (mean intensity)")
    for book in shelf:
        felt = ", ".join(f"{e['label']} {e['intensity']:.3f}" for e in book["emotions"])
        strength = "-" if book["strength"] is None else f"{book['strength']:.3f}"
        click.echo(f"{book['source']:<{width}}  {book['passages']:>8,}  {book['chapters']:>8,}  "
                   f"{book['characters']:>10,}  {strength:>8}  {felt}")
