"""`hyperamy predict`: the feelings of a text, or of every text of a file."""
from __future__ import annotations

import time

import click

from hyperamy.cli import main
from hyperamy.cli.common import emit_json, weights_option
from hyperamy.errors import InputError


@main.command()
@click.argument("text", required=False)
@click.option("--span", "-s", help="Feel only this part of TEXT (its first occurrence), e.g. a name.")
@click.option("--file", "-f", "corpus", type=click.Path(dir_okay=False, allow_dash=True),
              help="Label every text of a file instead: JSONL, CSV, Parquet, .txt (one text a line), "
                   "or - for stdin lines.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True),
              help="With --file: where to write (.jsonl, .csv or .parquet) [default: JSON Lines on stdout].")
@click.option("--format", "out_format", type=click.Choice(["jsonl", "csv", "parquet"]),
              help="With --file: output format [default: from --output's suffix].")
@click.option("--text-field", default="text", show_default=True, help="With --file: field holding the text.")
@click.option("--id-field", help="With --file: field holding the id [default: id, else the line number or hash].")
@click.option("--labels", "label_names", type=click.Choice(["goemotions", "ekman", "group", "six"]),
              default="goemotions", show_default=True,
              help="Label set to show: the 28 GoEmotions labels, Ekman's 7, 4 sentiment groups, or 6 basic "
                   "emotions (anger, fear, joy, love, sadness, surprise; neutral counts for none).")
@click.option("--top", "-k", "-n", "top", default=5, show_default=True, type=click.IntRange(1, 28),
              help="Emotions to list (-k as in search; -n kept for old scripts).")
@click.option("--mu", "with_mu", is_flag=True, help="With --file: include the 64-d direction mu.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object, with mu.")
@weights_option
def predict(text: str | None, span: str | None, corpus: str | None, output: str | None, out_format: str | None,
            text_field: str, id_field: str | None, label_names: str, top: int, with_mu: bool, as_json: bool,
            weights: str | None) -> None:
    """Show the emotions of TEXT: labels, kappa (certainty), strength and per-label intensity (0..1),
    and valence, arousal and dominance (1..5, as EmoBank rates sentences; 3 is neutral).

    \b
    Examples:
      hyperamy predict "Villefort turned pale and trembled" --span Villefort
      hyperamy predict "I am absolutely furious about this!" --labels six --json
      cut -f1 data/goemotions/test.tsv | hyperamy predict --file - -o labels.csv
    """
    if corpus is not None:
        if text is not None or span is not None or as_json:
            raise InputError("--file labels a whole file: give no TEXT, --span or --json with it "
                             "(its output is JSON Lines unless --output says otherwise)")
        _predict_file(corpus, output, out_format, text_field, id_field, label_names, top, with_mu, weights)
        return
    if output or out_format or with_mu:
        raise InputError("--output, --format and --mu go with --file")
    if text is None or not text.strip():
        raise InputError("TEXT is empty: give the text whose emotions to show (or --file FILE)")
    from hyperamy.encoder.runtime import OnnxQueryEncoder
    from hyperamy.labelling import LabelView

    # float32 even where $HYPERAMY_QUERY_PRECISION=int8 speeds searches: predict shows the reading itself
    runtime = OnnxQueryEncoder.load(weights, precision="float32")  # no torch once the graph is cached
    if runtime is not None:
        batch, thresholds = runtime.encode_query(text, span).emotion, runtime.thresholds
    else:
        from hyperamy.encoder import EmotionEncoder

        encoder = EmotionEncoder.load(weights)
        batch, thresholds = encoder.encode([text], spans=[span] if span else None), encoder.thresholds
    record = LabelView(label_names, thresholds).records(batch, [None], top, with_mu=True)[0]
    if as_json:
        emit_json({"text": text, "span": span, "labels_set": label_names, "kappa": record["kappa"],
                   "strength": record["strength"], "valence": record["valence"], "arousal": record["arousal"],
                   "dominance": record["dominance"], "top": record["top"], "predicted": record["labels"],
                   "intensity": record["intensity"], "mu": record["mu"]})
        return
    strength = "" if record["strength"] is None else f"   strength {record['strength']:.2f}"
    if record["valence"] is not None:
        strength += (f"   valence {record['valence']:.2f}  arousal {record['arousal']:.2f}  "
                     f"dominance {record['dominance']:.2f} (1-5)")
    click.echo(f"kappa {batch.kappa[0]:.1f}{strength}   predicted: {', '.join(record['labels']) or '(none over threshold)'}")
    for entry in record["top"]:
        felt = "" if record["intensity"] is None else f"  intensity {record['intensity'][entry['label']]:.2f}"
        click.echo(f"  {entry['label']:<15} {entry['prob']:6.3f}{felt}  {'#' * round(entry['prob'] * 30)}")


def _predict_file(corpus, output, out_format, text_field, id_field, label_names, top, with_mu, weights) -> None:
    from hyperamy.cli.common import progress
    from hyperamy.labelling import LabelView, Sink, count_texts, label_file, output_format

    kind = output_format(output, out_format)
    total = count_texts(corpus)  # before torch and the model load: a missing file is named at once
    from hyperamy.encoder import EmotionEncoder

    encoder = EmotionEncoder.load(weights)
    sink = Sink(output, kind, LabelView(label_names, encoder.thresholds))
    finished = False
    started = time.time()
    try:
        with progress("labelling", total, "text") as update:
            done = label_file(encoder, corpus, sink, top, with_mu, text_field, id_field, on_chunk=update)
        finished = True
    finally:
        sink.close(finished)
    seconds = time.time() - started
    click.echo(f"labelled {done:,} texts in {seconds:.1f} s ({done / max(seconds, 1e-9):.0f}/s)"
               + (f" into {output}" if output and output != "-" else ""), err=True)
