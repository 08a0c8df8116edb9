"""`hyperamy check`: verify every file of an index against its manifest, and repair what can be.

Texts and metadata (docs.parquet) are the source: every other file of a segment derives from
them, so a damaged FAISS, feelings, rows, keyword or mentions file is rebuilt from them (vectors,
feelings and mentions by encoding the texts again with the index's model). A damaged docs.parquet cannot be
rebuilt from the index; `drop_damaged` removes that segment so the rest stays usable.
"""
from __future__ import annotations

import shutil

import numpy as np

from hyperamy import file_checks, persist, segments
from hyperamy.errors import HyperamyError, IndexStateError
from hyperamy.analyzer import analyzer
from hyperamy.lexical import TermCounts
from hyperamy.store import files

# what opening needs that --repair cannot derive: the start of each such problem's line
NO_SEGMENTS, UNREADABLE = "the manifest names no segments", "DuckDB cannot read the documents"
CHANGED = "it does not match its checksum: a byte changed since it was written"
DERIVED_BY_ENCODING = {"feelings.npy", "semantic.faiss", "emotion.faiss", "semantic.hnsw.faiss", "emotion.hnsw.faiss"}


def damaged_files(root, entry: dict) -> dict[str, str]:
    """{file name: what is wrong} for one segment's manifest entry (empty when it is sound)."""
    folder = root / entry["name"]
    found = {}
    for name, expected in entry["files"].items():
        path = folder / name
        if not path.is_file():
            found[name] = "missing"
        elif path.stat().st_size != expected["size"]:
            found[name] = f"{path.stat().st_size} bytes, the manifest says {expected['size']}"
        elif file_checks.checksum(path) != expected["sha256"]:
            found[name] = "checksum differs from the manifest's"
    return found


def check(engine, repair: bool = False, drop_damaged: bool = False) -> dict:
    """Check (and optionally repair) an index; returns what was found and done.

    Raises:
        IndexStateError: the manifest itself is unreadable.
    """
    root = engine.folder / persist.SEGMENTS
    manifest = persist.read_manifest(engine.folder, checksum=False)
    problems = []
    if not persist.checksum_matches(manifest):
        problems.append({"segment": None, "file": str(engine.folder / persist.MANIFEST), "problem": CHANGED})
    for entry in manifest["segments"]:
        for name, what in damaged_files(root, entry).items():
            problems.append({"segment": entry["name"], "file": str(root / entry["name"] / name), "problem": what})
    tombstones = None
    try:
        tombstones = persist.read_tombstones(engine.folder, manifest.get("tombstones"))
    except (OSError, IndexStateError) as exc:
        problems.append({"segment": None, "file": str(engine.folder / manifest["tombstones"]["file"]),
                         "problem": str(exc).split(": ", 1)[-1] if isinstance(exc, IndexStateError) else "missing"})
    if not any(p["segment"] for p in problems):  # files sound: check what opening them needs
        problems += opening_problems(engine.folder, manifest, tombstones)
    report = {"index": str(engine.folder), "segments": len(manifest["segments"]), "problems": problems,
              "repaired": [], "dropped": [], "unrepairable": []}
    if problems and repair:
        with engine._writing(load=False) as transaction:
            _repair(transaction, report, drop_damaged)
    return report


def opening_problems(folder, manifest: dict, tombstones) -> list[dict]:
    """What would stop the index from opening, or open it wrong, though every file matches its
    checksum: a missing `complete` marker, counts that disagree with the segments, documents
    DuckDB cannot read, segment folders the manifest leaves out, rows at or past `next_row`."""
    from hyperamy.store import readable_documents

    root, found = folder / persist.SEGMENTS, []

    def problem(what: str, segment: str | None = None, file=None) -> None:
        found.append({"segment": segment, "file": str(file or folder / persist.MANIFEST), "problem": what})

    rows = []
    for entry in manifest["segments"]:
        if not (root / entry["name"] / segments.COMPLETE).is_file():
            problem("the 'complete' marker is missing", entry["name"], root / entry["name"] / segments.COMPLETE)
        held = _rows_of(root / entry["name"])
        if held is None:
            continue
        rows.append(held)
        if len(held) != entry["documents"]:
            problem(f"rows.npy holds {len(held)} rows, the manifest says {entry['documents']} documents",
                    entry["name"], root / entry["name"] / "rows.npy")
    every = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    if len(every) and int(every.max()) >= int(manifest["next_row"]):
        problem(f"next_row is {manifest['next_row']} but row {int(every.max())} is stored: the next write would "
                "reuse rows")
    dead = np.asarray(tombstones if tombstones is not None else [], np.int64)
    stored = sum(e["documents"] for e in manifest["segments"])
    counts = manifest["counts"]
    expected = {"documents": stored - len(dead), "segments": len(manifest["segments"]), "deleted": len(dead)}
    for name, value in expected.items():
        if counts.get(name) != value:
            problem(f"the manifest counts {counts.get(name)} {name}, the index holds {value}")
    named = {e["name"] for e in manifest["segments"]}
    orphans = sorted(p.name for p in root.glob("seg-*") if p.name not in named and (p / segments.COMPLETE).is_file()) \
        if root.is_dir() else []
    if orphans and not named:
        problem(f"{NO_SEGMENTS} but {len(orphans)} complete segment folders are on disk "
                f"({', '.join(orphans[:3])}): the index would open empty")
    if manifest["segments"]:
        try:
            folders = [root / e["name"] for e in manifest["segments"]]
            read = readable_documents(folder, [f / segments.DOCS_FILE for f in folders],
                                      [f / segments.MENTIONS_FILE for f in folders
                                       if (f / segments.MENTIONS_FILE).is_file()])
            if read != stored:
                problem(f"DuckDB reads {read} documents, the manifest says {stored}")
        except IndexStateError as exc:
            problem(f"{UNREADABLE}: {str(exc).splitlines()[0]}")
    return found


def _repair(transaction, report: dict, drop_damaged: bool) -> None:
    root = transaction.folder / persist.SEGMENTS
    manifest = transaction.manifest
    tombstones_entry = manifest.get("tombstones")
    try:
        tombstones = persist.read_tombstones(transaction.folder, tombstones_entry)
    except (OSError, IndexStateError):
        report["unrepairable"].append(f"{transaction.folder / tombstones_entry['file']}: the list of deleted documents "
                                      "is damaged; re-index into a new folder")
        return
    entries, sound, kept_damaged = [], [], False
    for entry in manifest["segments"]:
        damaged = damaged_files(root, entry)
        if not damaged:
            entries.append(entry)
            sound.append(entry)
        elif segments.DOCS_FILE in damaged:
            where = root / entry["name"] / segments.DOCS_FILE
            if drop_damaged:  # its tombstones go below, with every row no remaining segment holds
                report["dropped"].append({"segment": entry["name"], "documents": entry["documents"]})
                continue
            report["unrepairable"].append(f"{where} holds the texts of {entry['documents']} documents and is "
                                          "damaged; `hyperamy check --repair --drop-damaged` removes them, then "
                                          "index them again from your corpus")
            entries.append(entry)
            kept_damaged = True
        else:
            entries.append(_rebuild(transaction, root, entry, set(damaged)))
            report["repaired"].append({"segment": entry["name"], "files": sorted(damaged)})
    if kept_damaged:  # a state naming a damaged texts file cannot be read back, so cannot be committed
        if report["repaired"]:
            report["unrepairable"].append("nothing was committed, so nothing above was repaired: the damaged texts "
                                          "stay in the index until --drop-damaged removes them")
        report["repaired"] = []
        return
    for entry in sound:  # a folder whose files all match: only its marker was lost
        marker = root / entry["name"] / segments.COMPLETE
        if not marker.is_file():
            marker.write_text("")
            report["repaired"].append({"segment": entry["name"], "files": [segments.COMPLETE]})
    held = [_rows_of(root / entry["name"]) for entry in entries]
    if any(rows is None for rows in held):
        report["unrepairable"].append("a remaining segment's rows.npy cannot be read, so the deleted documents "
                                      "cannot be matched to segments; re-index into a new folder")
        return
    every = np.concatenate([np.zeros(0, np.int64), *held])
    next_row = max(int(manifest["next_row"]), int(every.max()) + 1 if len(every) else 0)
    tombstones = np.intersect1d(tombstones, every)
    for problem in report["problems"]:
        if problem["problem"].startswith((NO_SEGMENTS, UNREADABLE)):
            report["unrepairable"].append(f"{problem['problem']}; re-index into a new folder")
    counts = {"documents": sum(e["documents"] for e in entries) - len(tombstones), "segments": len(entries),
              "deleted": len(tombstones)}
    derived = next_row != manifest["next_row"] or counts != {k: manifest["counts"].get(k) for k in counts}
    if derived:
        report["repaired"].append({"segment": None, "files": [persist.MANIFEST],
                                   "what": f"counts and next_row derived from the segments (next_row {next_row})"})
    if any(problem["problem"] == CHANGED for problem in report["problems"]):
        report["repaired"].append({"segment": None, "files": [persist.MANIFEST],
                                   "what": "rewritten with a new checksum: its segments and counts were checked "
                                           "against the files; its settings and model names were kept as read"})
    if report["repaired"] or report["dropped"]:
        transaction.commit(entries, tombstones, next_row, manifest.get("fields", {}))


def _rows_of(folder) -> np.ndarray | None:
    try:
        return np.asarray(np.load(folder / "rows.npy"), np.int64)
    except (OSError, ValueError):
        return None


def _rebuild(transaction, root, entry: dict, damaged: set[str]) -> dict:
    """A new segment with the same documents, its derived files made again from docs.parquet
    (encoding the texts once when vectors, feelings or mentions were damaged)."""
    from hyperamy.indexing import encode_documents
    from hyperamy.entities.names import MentionSettings

    source = root / entry["name"]
    folder = persist.new_segment_folder(transaction.folder)
    folder.mkdir(parents=True)
    shutil.copy2(source / segments.DOCS_FILE, folder / segments.DOCS_FILE)
    try:
        found = list(files.rows("SELECT * FROM read_parquet(?) ORDER BY row", [str(folder / segments.DOCS_FILE)]))
    except files.FileQueryError as exc:
        raise HyperamyError(f"cannot read {source / segments.DOCS_FILE}: {exc}") from None
    rows = np.asarray([d["row"] for d in found], np.int64)
    texts = [d["text"] for d in found]
    remention = segments.MENTIONS_FILE in entry["files"] and bool(damaged & set(segments.MENTION_FILES))
    if remention or damaged & DERIVED_BY_ENCODING:
        settings = MentionSettings(detect=False)
        if remention:  # find them as the index does (as by default, if it no longer looks for any)
            settings = transaction.mentions if transaction.mentions.enabled else MentionSettings()
        metadata = [{n: v for n, v in d.items() if n not in segments.FIXED_COLUMNS} for d in found]
        documents, _ = encode_documents(transaction.encoder, settings, rows, [d["id"] for d in found], texts,
                                        [d["hash"] for d in found], metadata, transaction.batch_size)
    if remention:
        segments.write_mentions(folder, documents.mentions)
    elif segments.MENTIONS_FILE in entry["files"]:
        for name in segments.MENTION_FILES:
            shutil.copy2(source / name, folder / name)
    if damaged & DERIVED_BY_ENCODING:
        segments.write_arrays(folder, rows, documents.semantic, documents.mu, documents.feelings(),
                              transaction.config)
    else:
        for name in entry["files"]:
            if name in DERIVED_BY_ENCODING:
                shutil.copy2(source / name, folder / name)
        np.save(folder / "rows.npy", rows)
    TermCounts.build(texts, analyzer(transaction.config.analyzer)).save(folder)
    segments.hits_from_documents(folder)
    segments.ids_from_documents(folder)
    return segments.finish(folder, len(rows))
