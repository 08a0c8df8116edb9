"""`hyperamy index`, `search`, `delete` and `info`."""
from __future__ import annotations

import contextlib
import json
import time

import click

from hyperamy.cli import main
from hyperamy.cli.common import emit_json, progress, weights_option
from hyperamy.errors import DataFormatError
from hyperamy.indexing import COMMIT_EVERY
from hyperamy.locking import DEFAULT_WAIT

wait_option = click.option("--wait", default=DEFAULT_WAIT, show_default=True, type=click.FloatRange(0),
                           help="Seconds to wait for another process writing the index.")
index_option = click.option("--index", "-i", "index", type=click.Path(file_okay=False), envvar="HYPERAMY_INDEX",
                            help="Index folder [default: indexes/default, or $HYPERAMY_INDEX].")


@main.command(name="index")
@click.argument("corpus", nargs=-1, required=True, type=click.Path(allow_dash=True))
@index_option
@click.option("--chunk", metavar="TOKENS[:OVERLAP]",
              help="Cut texts into passages of at most TOKENS word pieces, each starting with up to OVERLAP "
                   "tokens of whole sentences from the one before; paragraphs are kept whole where they fit. "
                   "Books always are [default for books: 128]; records of other files only when this is given.")
@click.option("--format", "stdin_format", default="jsonl", show_default=True,
              type=click.Choice(["jsonl", "txt", "md", "html", "epub"]),
              help="What `-` (standard input) holds.")
@click.option("--id-field", help="Field holding document ids; it must be in the first record "
                                 "[default: id where present, else a hash of the text].")
@click.option("--text-field", default="text", show_default=True, help="Field holding the text.")
@click.option("--skip-invalid", is_flag=True, help="Index the valid rows and report the invalid ones.")
@click.option("--vector-index", type=click.Choice(["flat", "hnsw"]),
              help="Vector search for a new index: exact flat (default) or approximate HNSW.")
@click.option("--analyzer", type=click.Choice(["english", "words"]),
              help="How keyword search reads words, for a new index: English stems without function words "
                   "(default), or words as written (for text in other languages).")
@click.option("--commit-every", default=COMMIT_EVERY, show_default=True, type=click.IntRange(1),
              help="Documents per commit at most (one also comes about every 30 s of encoding): an interrupted "
                   "run keeps what it committed, and rerunning skips it.")
@wait_option
@click.option("--ray", "ray_address", is_flag=False, flag_value="local", default=None, metavar="[ADDRESS]",
              help="Encode on Ray actors: alone, a local Ray instance; with ADDRESS, that cluster. "
                   "Segments are adopted in one commit at the end.")
@click.option("--ray-actors", default=2, show_default=True, type=click.IntRange(1), help="Encoder actors.")
@click.option("--ray-gpus-per-actor", default=0.0, show_default=True, type=click.FloatRange(0), help="GPUs per actor.")
@click.option("--entities", "entity_file", type=click.Path(dir_okay=False, exists=True),
              help="Entities to find: one a line, aliases after |  (\"Dantès | Edmond Dantès | Sinbad\").")
@click.option("--entity-field", help="Metadata field listing each document's entities (a list, or names "
                                     "separated by | or ;).")
@click.option("--detect-entities/--no-detect-entities", default=True, show_default=True,
              help="Also find capitalised names (people, places) automatically.")
@weights_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def index_command(corpus, index, chunk, stdin_format, id_field, text_field, skip_invalid, vector_index, analyzer,
                  commit_every, wait, ray_address,
                  ray_actors, ray_gpus_per_actor, entity_file, entity_field, detect_entities, weights,
                  as_json) -> None:
    """Add books, or JSONL, JSON, CSV or Parquet files, to an index (created if missing).

    Books (.txt, .md, .html, .epub, or folders of them) are cut into passages with ids FILE#N,
    each with its source, chapter (found from headings: "CHAPTER XII", "Chapter 3. Title",
    Markdown and HTML headings, an EPUB's contents), chapter_title, position and character
    offsets start/end. Re-indexing a book re-encodes only passages that changed and drops those
    it no longer has. Records of other files are added as they are (re-adding updates by id),
    or cut into passages ID#N with their parent's id with --chunk. Table files may be compressed
    (.gz, .zst); `-` reads standard input (JSON Lines, or a book with --format).
    Progress is committed every --commit-every documents or about every 30 s of encoding,
    whichever comes first: an interrupted run (Ctrl-C, a kill) keeps what it committed, and the
    same command run again skips it. Entity mentions (names, and how each is
    felt where it stands) are stored with each document: see `hyperamy entities`.

    \b
    Examples:
      hyperamy index novel.txt
      hyperamy index books/ --chunk 200:40
      hyperamy index data/monte_cristo/corpus.jsonl
      pdftotext memoir.pdf - | hyperamy index - --format txt
    """
    from hyperamy.books import Chunking
    from hyperamy.books.inputs import read_inputs
    from hyperamy.config import IndexConfig
    from hyperamy.corpus import Skipped
    from hyperamy.engine import HyperAmy

    chunking = Chunking.parse(chunk) if chunk else None
    chosen = {name: value for name, value in (("vector_index", vector_index), ("analyzer", analyzer)) if value}
    config = IndexConfig(**chosen) if chosen else None
    engine = HyperAmy.open(index, create=True, config=config, weights=weights, wait=wait)
    if entity_file or entity_field or not detect_entities:
        engine.find_mentions(entity_file, entity_field, detect_entities)
    skipped = Skipped() if skip_invalid else None
    inputs = read_inputs(corpus, chunking, id_field, text_field, skipped, stdin_format)
    records, total = inputs.records, inputs.total
    started = time.time()
    with _row_hint():
        if ray_address:
            from hyperamy import shards

            ray = shards.connect(None if ray_address == "local" else ray_address)
            report = engine.add_distributed(records, ray, actors=ray_actors, gpus_per_actor=ray_gpus_per_actor,
                                            segment_size=commit_every)
        else:
            with progress("indexing", total) as update:
                report = engine.add(records, progress=update, commit_every=commit_every)
    removed = [i for field, kept in inputs.kept.items() for i in engine.remove_others(field, kept)]
    seconds = time.time() - started
    result = {"index": str(engine.folder), **report.__dict__, "removed": len(removed), "skipped": len(skipped.rows) if skipped else 0,
              "skipped_rows": skipped.rows if skipped else [], "documents": len(engine),
              "seconds": round(seconds, 2)}
    if as_json:
        emit_json(result)
        return
    gone = f", {len(removed)} passages no longer there removed" if removed else ""
    kept = f" ({report.reused} only moved: not re-encoded)" if report.reused else ""
    click.echo(f"{engine.folder}: {report.added} added, {report.updated} updated{kept}, {report.unchanged} unchanged{gone}; "
               f"{len(engine)} documents ({seconds:.1f}s)")
    if report.duplicates:
        click.echo(f"warning: {report.duplicates} duplicate ids in the input; the last of each won", err=True)
    if report.truncated:
        click.echo(f"warning: {report.truncated} texts are longer than the encoder window; they were encoded "
                   "cut and stored whole", err=True)
    if skipped and skipped.rows:
        click.echo(f"skipped {len(skipped.rows)} invalid rows:", err=True)
        for row in skipped.rows:
            click.echo(f"  {row}", err=True)


@contextlib.contextmanager
def _row_hint():
    """A bad row's error says that --skip-invalid would pass over it."""
    try:
        yield
    except DataFormatError as exc:
        if exc.row and exc.args:
            exc.args = (f"{exc.args[0]}; --skip-invalid skips such rows and lists them",)
        raise


@main.command(name="search")
@click.argument("query")
@index_option
@click.option("-k", default=10, show_default=True, type=click.IntRange(1, 1000), help="Results to return.")
@click.option("--mode", "-m", type=click.Choice(["hybrid", "semantic", "lexical", "emotion"]), default="hybrid",
              show_default=True, help="Which signals rank the results.")
@click.option("--where", help="SQL condition over metadata, e.g. \"chapter > 3 AND kappa > 20\".")
@click.option("--emotion", "-e", multiple=True, help="Keep documents felt with this label (repeatable: any).")
@click.option("--span", help="Use the emotion of this part of the query (e.g. a name).")
@click.option("--about", help="Only passages mentioning this entity, their feeling read from how it is felt there.")
@click.option("--recency", metavar="FIELD:HALF_LIFE",
              help="Fade older documents: the score halves every HALF_LIFE of age (published:30d, chapter:10).")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one hit a line.")
@click.option("--explain", is_flag=True, help="Show how each score was made.")
@click.option("--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="Change a ranking setting for this search (repeatable): semantic_share, emotion_weight, "
                   "candidates, hnsw_ef_search, fusion (fitted or evidence).")
@weights_option
def search_command(query, index, k, mode, where, emotion, span, about, recency, as_json, explain, settings,
                   weights) -> None:
    """Find documents that match what QUERY says and how it feels.

    \b
    Examples:
      hyperamy search "a prisoner overcome with despair in his cell" -k 5 --explain
      hyperamy search "Villefort afraid" --about Villefort -k 5
    """
    from hyperamy.engine import HyperAmy

    hits = HyperAmy.open(index, weights=weights, preload_queries=True).search(query, k=k, mode=mode, where=where, emotion=list(emotion),
                                                        span=span, about=about, recency=recency,
                                                        **parse_settings(settings))
    if hits and hits[0].warning:
        click.echo(f"warning: {hits[0].warning} (--mode hybrid, --emotion LABEL)", err=True)
    if as_json:
        for hit in hits:
            emit_json(hit.to_dict())
        return
    if not hits:
        click.echo("no results", err=True)
    for hit in hits:
        felt = ", ".join(name for name, _ in hit.top_emotions[:2])
        click.echo(f"{hit.rank:>3}. {hit.id}  score {hit.score:.4f}  kappa {hit.kappa:.1f} ({felt})")
        click.echo(f"     {hit.snippet}")
        if hit.mention is not None:
            said = ", ".join(f"{e['label']} {e['prob']:.2f}" for e in hit.mention["top_emotions"][:2])
            click.echo(f"     {hit.mention['entity']} here ({hit.mention['text']!r}): {said}")
        if explain:
            click.echo(f"     {hit.explain()}")


def parse_settings(pairs) -> dict:
    """--set NAME=VALUE pairs: numbers (an int where the value is one), and `fusion`'s word."""
    settings = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals:
            raise click.BadParameter(f"{pair!r}: expected NAME=VALUE", param_hint="--set")
        if name.strip() == "fusion":
            settings["fusion"] = value.strip()
            continue
        try:
            settings[name.strip()] = int(value) if value.strip().lstrip("-").isdigit() else float(value)
        except ValueError:
            raise click.BadParameter(f"{pair!r}: expected NAME=NUMBER (fusion=fitted|evidence takes a word)",
                                     param_hint="--set") from None
    return settings


@main.command()
@click.argument("ids", nargs=-1, required=True)
@index_option
@wait_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object: removed and missing ids.")
def delete(ids, index, wait, as_json) -> None:
    """Remove documents by id.

    \b
    Example:
      hyperamy delete chunk_12 chunk_13
    """
    from hyperamy.engine import HyperAmy

    engine = HyperAmy.open(index, wait=wait)
    removed = engine.remove(list(ids))
    missing = [i for i in dict.fromkeys(ids) if i not in set(removed)]
    if as_json:
        emit_json({"removed": removed, "missing": missing, "documents": len(engine)})
        return
    click.echo(f"removed {len(removed)} of {len(set(ids))} ids; {len(engine)} documents left")
    if missing:
        click.echo(f"not found: {', '.join(missing)}", err=True)


@main.command()
@index_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def info(index, as_json) -> None:
    """Show an index's counts, models, versions, thresholds and size on disk.

    \b
    Example:
      hyperamy info --json
    """
    from hyperamy.emotions import LABELS
    from hyperamy.engine import HyperAmy

    details = HyperAmy.open(index).info()
    if as_json:
        emit_json(details)
        return
    models = details["models"]
    click.echo(f"index      {details['index']}")
    click.echo(f"documents  {details['documents']}")
    click.echo(f"size       {details['size_bytes'] / 1e6:.1f} MB on disk")
    click.echo(f"encoder    {models['encoder']} (semantic {models['semantic_dimension']}-d, "
               f"emotion {models['emotion_dimension']}-d, alpha {models['alpha']})")
    click.echo(f"metadata   {', '.join(details['metadata_fields']) or '(none)'}")
    found = details["mentions"]
    ways = [f"{len(found['names'])} listed" if found["names"] else "", f"field {found['field']}" if found["field"] else "",
            "capitalised names" if found["detect"] else ""]
    click.echo(f"entities   {', '.join(w for w in ways if w) or '(not looked for)'}")
    thresholds = ", ".join(f"{name} {t:.2f}" for name, t in zip(LABELS, models["thresholds"]))
    click.echo(f"thresholds {thresholds}")
    click.echo(f"settings   {json.dumps(details['config'])}")
    click.echo(f"versions   {json.dumps(details['versions'])}")
    click.echo(f"updated    {details['updated']}")
