"""Asking about entities: which are mentioned, how each is felt, and where.

Mentions are found and felt at index time (detect.py, encoder/joint.py) and stored per
segment (segments.write_mentions): a table DuckDB reads as the `mentions` view, joined to
`documents` by row, and a FAISS index of their emotion directions. Deleted documents' mentions
stay in their segments until compaction and are left out here.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Sequence

import numpy as np

from hyperamy.emotions import LABELS
from hyperamy.encoder.intensity import by_label
from hyperamy.errors import IndexStateError, InputError, NotFoundError
from hyperamy.entities.detect import KEPT_TITLES, MIN_EVIDENCE, PARTICLES
from hyperamy.entities.names import fold
from hyperamy.segments import INTENSITY_COLUMNS, Feelings
from hyperamy.store import identifier
from hyperamy.view import View, require_local

FELT = [name.removeprefix("intensity_") for name in INTENSITY_COLUMNS]
MEAN_FELT = ", ".join(f"avg({identifier(c)}) AS {identifier(c)}" for c in INTENSITY_COLUMNS)
# An entity counts when it was listed, or was seen inside a sentence MIN_EVIDENCE times (detect.py)
COUNTED = "min(source) <> 'auto' OR count(*) FILTER (WHERE NOT initial) >= ?"
LIVE = "row NOT IN (SELECT unnest(?::BIGINT[]))"  # with _dead(view): mentions of documents not deleted


def _require_mentions(view) -> None:
    require_local(view, "entities are")
    if view.segments and not view.store.has_mentions:
        raise IndexStateError("this index holds no entity mentions: it was built without them (before hyperamy "
                              "found them, or with --no-detect-entities and no list); index the corpus again "
                              "into a new folder (`hyperamy index CORPUS --index NEW`)")
    for segment in view.segments:
        segment.mentions()  # read once per segment, each file checked against the manifest


def _dead(view) -> list[int]:
    return [int(r) for r in view.tombstones]


def entities(view: View, limit: int | None = None, min_mentions: int = 1) -> list[dict]:
    """The entities mentioned in the live documents, most mentioned first.

    A name found automatically counts once it is seen capitalised inside a sentence at least
    MIN_EVIDENCE times (detect.py); listed names always count. Each entry: name, mentions,
    documents, source ("list", "field" or "auto"), strength (mean), emotion (the label felt most
    on average, by intensity) and emotions (the top three with their mean intensity).
    """
    _require_mentions(view)
    if not view.segments:
        return []
    found, names = view.store.query(
        "SELECT entity, count(*) AS mentions, count(DISTINCT row) AS documents, min(source) AS source, "
        f"avg(strength) AS strength, {MEAN_FELT} FROM mentions WHERE {LIVE} GROUP BY entity "
        f"HAVING ({COUNTED}) AND count(*) >= ? ORDER BY mentions DESC, entity"
        + (f" LIMIT {int(limit)}" if limit else ""),
        [_dead(view), MIN_EVIDENCE, min_mentions])
    return [_summary(dict(zip(names, values))) for values in found]


def _summary(fields: dict) -> dict:
    means = np.asarray([fields[c] if fields[c] is not None else np.nan for c in INTENSITY_COLUMNS], np.float64)
    order = [int(i) for i in np.argsort(-np.nan_to_num(means, nan=-1.0))[:3]]
    strength = fields["strength"]
    known = strength is not None and not np.isnan(strength)
    return {"name": fields["entity"], "mentions": int(fields["mentions"]), "documents": int(fields["documents"]),
            "source": fields["source"], "strength": round(float(strength), 4) if known else None,
            "emotion": FELT[order[0]] if known else None,
            "emotions": [{"label": FELT[i], "intensity": round(float(means[i]), 4)} for i in order] if known else []}


def resolve(view: View, name: str, aliases: Sequence[Sequence[str]] = ()) -> list[str]:
    """The stored entity names `name` means, itself first: the same name without case or accents
    ("dantes" -> "Dantès"), the entity an alias of the index's list belongs to, and the name
    after one given name ("Edmond Dantès"; see _given_name_of).

    Raises:
        InputError: no entity by that name (with the closest names found).
    """
    _require_mentions(view)
    if not name or not name.strip():
        raise InputError("the entity name is empty")
    wanted = fold(name)
    for names in aliases:
        if any(fold(n) == wanted for n in names):
            wanted = fold(names[0])
    known, _ = view.store.query("SELECT DISTINCT entity FROM mentions") if view.segments else ([], [])
    keys = sorted(key for (key,) in known if fold(key) == wanted or _given_name_of(fold(key), wanted))
    if any(fold(key) == wanted for key in keys):
        return sorted(keys, key=lambda key: (fold(key) != wanted, key))  # the name itself first
    words = set(wanted.split())
    near = sorted((key for (key,) in known if words & set(fold(key).split())), key=len)[:8]
    hint = f"; names that share a word with it: {', '.join(near)}" if near else \
        "; `hyperamy entities` lists the names found"
    raise NotFoundError(f"no entity {name!r} is mentioned in this index{hint}")


def _given_name_of(key: str, name: str) -> bool:
    """Whether a two-word name is `name` after a given name or a word capitalised by its place
    ("Edmond Dantès", "Gaspard Caderousse", "Dearest Valentine" for Dantès, Caderousse, Valentine);
    titled relatives ("Madame Danglars") and names joined by a particle ("Noirtier de Villefort")
    are other people."""
    words = key.split()
    return (len(words) == 2 and words[1] == name and " " not in name
            and words[0] not in KEPT_TITLES and words[0] not in PARTICLES)


def related(view: View, keys: Sequence[str]) -> list[dict]:
    """Other names that contain one of these ("Madame de Villefort" for "Villefort"), with counts."""
    words = {fold(k) for k in keys}
    found, _ = view.store.query(f"SELECT entity, count(*) FROM mentions WHERE {LIVE} GROUP BY entity "
                                f"HAVING {COUNTED} ORDER BY count(*) DESC, entity", [_dead(view), MIN_EVIDENCE])
    return [{"name": e, "mentions": int(n)} for e, n in found
            if e not in keys and any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", fold(e)) for w in words)][:10]


@dataclasses.dataclass
class About:
    """The live mentions of one entity, for ranking documents by how it is felt in them."""

    name: str
    keys: list[str]
    rows: np.ndarray  # (m,) the document of each mention
    feelings: np.ndarray  # (m, 30)
    start: np.ndarray
    end: np.ndarray
    surface: list[str]
    parts: list[tuple]  # per segment: (FAISS index of its mentions, their places there, index into this table)

    def documents(self) -> np.ndarray:
        return np.unique(self.rows)

    def search(self, mu: np.ndarray, k: int, allowed: np.ndarray | None = None) -> np.ndarray:
        """Documents whose mention of the entity is nearest the query's feeling (FAISS, exact);
        with `allowed` (sorted rows passing the search's filters), only those documents."""
        scores, found = [], []
        for index, places, where in self.parts:
            if allowed is not None:
                keep = np.isin(self.rows[where], allowed)
                places, where = places[keep], where[keep]
            if not len(places):
                continue
            top_scores, top_places = index.search(mu, k, allowed=places)
            scores.append(top_scores)
            found.append(self.rows[where[np.searchsorted(places, top_places)]])
        if not found:
            return np.zeros(0, np.int64)
        scores, rows = np.concatenate(scores), np.concatenate(found)
        ranked = rows[np.lexsort((rows, -scores))]  # best mention first, ties by row
        _, first = np.unique(ranked, return_index=True)
        return ranked[np.sort(first)][:k]  # each document once, at its best mention

    def best_mentions(self, candidates: np.ndarray, similarity) -> tuple[np.ndarray, np.ndarray]:
        """For each candidate document, its mention whose feeling best fits (index into this table,
        -1 where it has none) and that fit (`similarity(probs)` of the mentions' label probabilities)."""
        table = Feelings.of(self.feelings)
        fit = similarity(table.probs)
        chosen = np.full(len(candidates), -1, np.int64)
        value = np.zeros(len(candidates), np.float32)
        order = np.lexsort((-fit, self.rows))  # by document, best fit first
        rows = self.rows[order]
        first = np.searchsorted(rows, candidates)
        inside = first < len(rows)
        here = np.flatnonzero(inside)[rows[first[inside]] == candidates[inside]]
        chosen[here] = order[first[here]]
        value[here] = fit[chosen[here]]
        return chosen, value

    def describe(self, i: int) -> dict:
        """One mention as a hit shows it: where it is and how it is felt."""
        row = Feelings.of(self.feelings[i])
        probs, strength = row.probs, float(row.strength)
        top = np.argsort(-probs)[:3]
        per_label = by_label(strength, probs)
        return {"entity": self.name, "text": self.surface[i], "start": int(self.start[i]), "end": int(self.end[i]),
                "kappa": round(float(row.kappa), 3), "strength": None if per_label is None else round(strength, 4),
                "top_emotions": [{"label": LABELS[j], "prob": round(float(probs[j]), 4)} for j in top],
                "intensity": per_label}


def about(view: View, name: str, aliases: Sequence[Sequence[str]] = ()) -> About:
    """The mentions of the entity `name` in the live documents (see `resolve`)."""
    keys = resolve(view, name, aliases)
    rows, feelings, start, end, surface, parts, total = [], [], [], [], [], [], 0
    for segment, live in zip(view.segments, view.live):
        table = segment.mentions()
        if table is None:
            continue
        places = np.flatnonzero(np.isin(np.asarray(table.entity, dtype=object), keys)
                                & np.isin(table.rows, segment.rows[live]))
        if not len(places):
            continue
        rows.append(table.rows[places])
        feelings.append(table.feelings[places])
        start.append(table.start[places])
        end.append(table.end[places])
        surface += [table.surface[i] for i in places]
        parts.append((table.index, places, np.arange(total, total + len(places))))
        total += len(places)
    if not rows:
        raise InputError(f"no live document mentions {name!r}")
    return About(keys[0], keys, np.concatenate(rows), np.concatenate(feelings),
                 np.concatenate(start), np.concatenate(end), surface, parts)


def profile(view: View, name: str, aliases: Sequence[Sequence[str]] = (), top: int = 3, passages: int = 3) -> dict:
    """How an entity is felt across the index: counts, its top emotions by mean intensity, and for
    each, the passages where it is felt most strongly (the mention and the text around it)."""
    keys = resolve(view, name, aliases)
    means = _aggregate(view, keys)
    order = [i for i in np.argsort(-np.asarray([means[c] or 0.0 for c in INTENSITY_COLUMNS]))[:top]]
    strength = means["strength"]
    result = {"name": keys[0], "names": keys, "mentions": int(means["mentions"]), "documents": int(means["documents"]),
              "strength": None if strength is None else round(float(strength), 4),
              "emotions": [], "also": related(view, keys)}
    counted, _ = view.store.query(f"SELECT entity, count(*) FROM mentions WHERE entity IN (SELECT unnest(?)) AND {LIVE} "
                                  "GROUP BY entity ORDER BY count(*) DESC, entity", [keys, _dead(view)])
    result["by_name"] = {key: int(count) for key, count in counted}  # `entities` counts each name on its own
    for i in order:
        column = INTENSITY_COLUMNS[i]
        found, fields = view.store.query(
            f"SELECT d.id, d.text, m.row, m.start, m.\"end\", m.surface, m.{identifier(column)} AS felt, m.emotion "
            f"FROM mentions m JOIN documents d ON d._row = m.row WHERE m.entity IN (SELECT unnest(?)) AND m.{LIVE} "
            "QUALIFY row_number() OVER (PARTITION BY m.row ORDER BY felt DESC, m.start) = 1 "  # a passage once
            f"ORDER BY felt DESC, m.row LIMIT {int(passages)}",
            [keys, _dead(view)])
        result["emotions"].append({
            "label": FELT[i], "intensity": round(float(means[column] or 0.0), 4),
            "passages": [{"id": id_, "row": int(row), "intensity": round(float(felt), 4), "mention": surface,
                          "start": int(start), "end": int(end), "snippet": around(text, int(start), int(end))}
                         for id_, text, row, start, end, surface, felt, _ in found]})
    return result


def _aggregate(view: View, keys: Sequence[str]) -> dict:
    """Mentions, documents, mean strength and mean intensity per label of some entity names together."""
    found, names = view.store.query(
        f"SELECT count(*) AS mentions, count(DISTINCT row) AS documents, avg(strength) AS strength, {MEAN_FELT} "
        f"FROM mentions WHERE entity IN (SELECT unnest(?)) AND {LIVE}", [list(keys), _dead(view)])
    return dict(zip(names, found[0]))


def around(text: str, start: int, end: int, width: int = 110) -> str:
    """The text around a mention on one line, the mention marked with [ ]."""
    left = re.sub(r"\s+", " ", text[max(0, start - width):start]).lstrip()
    right = re.sub(r"\s+", " ", text[end:end + width]).rstrip()
    name = re.sub(r"\s+", " ", text[start:end])
    return ("..." if start > width else "") + left + f"[{name}]" + right + ("..." if end + width < len(text) else "")
