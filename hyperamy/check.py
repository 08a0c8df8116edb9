"""`hyperamy check`: verify every file of an index against its manifest, and repair what can be.

Texts and metadata (docs.parquet) are the source: every other file of a segment derives from
them, so a damaged FAISS, feelings, rows, keyword or mentions file is rebuilt from them (vectors,
feelings and mentions by encoding the texts again with the index's model). A damaged docs.parquet cannot be
rebuilt from the index; `drop_damaged` removes that segment so the rest stays usable.
"""
from __future__ import annotations

import shutil

import duckdb
import numpy as np

from hyperamy import persist, segments
from hyperamy.errors import HyperamyError, IndexStateError
from hyperamy.lexical import TermCounts

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
        elif segments.checksum(path) != expected["sha256"]:
            found[name] = "checksum differs from the manifest's"
    return found


def check(engine, repair: bool = False, drop_damaged: bool = False) -> dict:
    """Check (and optionally repair) an index; returns what was found and done.

    Raises:
        IndexStateError: the manifest itself is unreadable.
    """
    root = engine.folder / persist.SEGMENTS
    manifest = persist.read_manifest(engine.folder)
    problems = []
    for entry in manifest["segments"]:
        for name, what in damaged_files(root, entry).items():
            problems.append({"segment": entry["name"], "file": str(root / entry["name"] / name), "problem": what})
    try:
        persist.read_tombstones(engine.folder, manifest.get("tombstones"))
    except (OSError, IndexStateError) as exc:
        problems.append({"segment": None, "file": str(engine.folder / manifest["tombstones"]["file"]),
                         "problem": str(exc)})
    report = {"index": str(engine.folder), "segments": len(manifest["segments"]), "problems": problems,
              "repaired": [], "dropped": [], "unrepairable": []}
    if problems and repair:
        with engine._writing(load=False) as transaction:
            _repair(transaction, report, drop_damaged)
    return report


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
    entries = []
    for entry in manifest["segments"]:
        damaged = damaged_files(root, entry)
        if not damaged:
            entries.append(entry)
        elif segments.DOCS_FILE in damaged:
            where = root / entry["name"] / segments.DOCS_FILE
            if drop_damaged:  # its tombstones go below, with every row no remaining segment holds
                report["dropped"].append({"segment": entry["name"], "documents": entry["documents"]})
                continue
            report["unrepairable"].append(f"{where} holds the texts of {entry['documents']} documents and is "
                                          "damaged; `hyperamy check --repair --drop-damaged` removes them, then "
                                          "index them again from your corpus")
            entries.append(entry)
        else:
            entries.append(_rebuild(transaction, root, entry, set(damaged)))
            report["repaired"].append({"segment": entry["name"], "files": sorted(damaged)})
    if report["repaired"] or report["dropped"]:
        held = [_rows_of(root / entry["name"]) for entry in entries]
        if any(rows is None for rows in held):
            report["unrepairable"].append("a remaining segment's rows.npy cannot be read, so the deleted documents "
                                          "cannot be matched to segments; re-index into a new folder")
            return
        tombstones = np.intersect1d(tombstones, np.concatenate([np.zeros(0, np.int64), *held]))
        transaction.commit(entries, tombstones, manifest["next_row"], manifest.get("fields", {}))


def _rows_of(folder) -> np.ndarray | None:
    try:
        return np.asarray(np.load(folder / "rows.npy"), np.int64)
    except (OSError, ValueError):
        return None


def _rebuild(transaction, root, entry: dict, damaged: set[str]) -> dict:
    """A new segment with the same documents, its derived files made again from docs.parquet
    (encoding the texts once when vectors, feelings or mentions were damaged)."""
    from hyperamy.indexing import encode_documents
    from hyperamy.mentions import MentionSettings

    source = root / entry["name"]
    folder = persist.new_segment_folder(transaction.folder)
    folder.mkdir(parents=True)
    shutil.copy2(source / segments.DOCS_FILE, folder / segments.DOCS_FILE)
    connection = duckdb.connect(config={"threads": 1})
    try:
        result = connection.execute("SELECT * FROM read_parquet(?) ORDER BY row", [str(folder / segments.DOCS_FILE)])
        names = [d[0] for d in result.description]
        found = [dict(zip(names, values)) for values in result.fetchall()]
    except duckdb.Error as exc:
        raise HyperamyError(f"cannot read {source / segments.DOCS_FILE}: {str(exc).splitlines()[0]}") from None
    finally:
        connection.close()
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
    TermCounts.build(texts).save(folder)
    segments.hits_from_documents(folder)
    return segments.finish(folder, len(rows))
