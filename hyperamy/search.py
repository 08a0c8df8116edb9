"""The read path of `HyperAmy.search`: candidates from each leg, one re-ranker, explained hits."""
from __future__ import annotations

import dataclasses
import functools
import re
from typing import Any, Sequence

import numpy as np

from hyperamy.emotions import LABELS, affect_fields, label_index
from hyperamy.encoder.intensity import by_label
from hyperamy.errors import InputError
from hyperamy import lexical
from hyperamy.lexical import words
from hyperamy.mentions import name_pattern
from hyperamy.rerank import (MODES, asks_feeling, certainty, contributions, emotion_similarity, fitted_contributions,
                             fitted_emotion_weight, semantic_share)
from hyperamy.store import identifier


@dataclasses.dataclass(frozen=True)
class Hit:
    """One result with every part of its score, so the ranking can be explained."""

    rank: int
    id: str
    mode: str
    score: float  # what the ranking sorted on
    semantic: float  # cosine of query and document meaning
    lexical: float  # BM25 keyword score
    emotion_match: float  # label overlap of the two emotions times the document's certainty, 0 to 1
    emotion_weight: float  # how much the emotion term counted (grows with the query's certainty)
    semantic_part: float  # what meaning added to the score (the three parts sum to it)
    lexical_part: float  # what keywords added
    emotion_part: float  # what emotion added
    semantic_share: float  # the share of relevance meaning had (hybrid); keywords had the rest
    fusion: str  # how hybrid weighed the parts: "fitted" (hyperamy/fusion.json) or "evidence" (shares)
    query_kappa: float
    kappa: float
    top_emotions: tuple[tuple[str, float], ...]
    strength: float | None  # how strongly the document is felt, 0..1 (None: built without an intensity head)
    intensity: dict[str, float] | None  # strength x probability of each of the 27 felt labels (None: no head)
    valence: float | None  # 1..5 as EmoBank rates it, 3 neutral (None: built without the head)
    arousal: float | None  # 1 calm .. 5 excited
    dominance: float | None  # 1 controlled .. 5 in control
    text: str
    snippet: str
    metadata: dict[str, Any]
    warning: str | None = None  # said of the query, e.g. emotion mode with a query that feels nothing
    mention: dict | None = None  # with `about`: the entity's mention whose feeling was ranked, and how it is felt
    recency: float | None = None  # with `recency`: the decay the score was multiplied by (1 = newest)
    recency_part: float = 0.0  # what the decay changed in the score (the parts sum to the score)
    age: float | None = None  # with `recency`: the document's age, in `age_unit`
    age_unit: str | None = None  # "days" (a date field), or how far below the field's largest value
    searched: str | None = None  # with `about`: the query without the entity's names, whose meaning and words ranked

    @property
    def emotion(self) -> str:
        """The label the document is felt with most (as `get` and `list` call it)."""
        return self.top_emotions[0][0]

    def to_dict(self) -> dict:
        """The JSON shape (README: "JSON names"): `emotion` is the top label and `intensity` a dict of
        the 27 felt labels, as for documents; `emotion_match` is how well the feelings matched."""
        value = dataclasses.asdict(self)
        value["emotion"] = self.emotion
        value["top_emotions"] = [{"label": name, "prob": round(p, 4)} for name, p in self.top_emotions]
        return value

    def explain(self) -> str:
        """How the score was made: each part with its weight; the printed parts add up to the score."""
        felt = ", ".join(f"{name} {p:.2f}" for name, p in self.top_emotions)
        if self.mode == "hybrid" and self.fusion == "fitted":
            how = (f"meaning {self.semantic_part:.4f} (the cosine {self.semantic:.3f}) + keywords "
                   f"{self.lexical_part:.4f} (BM25 {self.lexical:.2f}) + emotion {self.emotion_part:.4f} "
                   f"({self.emotion_weight:.3f} x {self.emotion_match:.3f}, the overlap, and the document's "
                   "strength); each part a weighing of its signal against the other candidates, fitted on real "
                   "questions (hyperamy/fusion.json)")
        elif self.mode == "hybrid":
            share = self.semantic_share
            meaning = self.semantic_part / share if share else 0.0
            keywords = self.lexical_part / (1 - share) if share < 1 else 0.0
            how = (f"meaning {self.semantic_part:.4f} ({share:.2f} x {meaning:.3f}, the cosine {self.semantic:.3f} "
                   f"as a z-score over the candidates) + keywords {self.lexical_part:.4f} ({1 - share:.2f} x "
                   f"{keywords:.3f}, BM25 {self.lexical:.2f} as a z-score) + emotion {self.emotion_part:.4f} "
                   f"({self.emotion_weight:.3f} x {self.emotion_match:.3f})")
        else:
            how = {"semantic": f"the cosine {self.semantic:.4f}", "lexical": f"BM25 {self.lexical:.4f}",
                   "emotion": f"the certainty-weighted emotion overlap {self.emotion_match:.4f}"}[self.mode]
        strength = "" if self.strength is None else f", strength {self.strength:.2f}"
        if self.recency is not None:
            age = "the field is empty: not faded" if self.age is None else f"age {self.age:g} {self.age_unit}"
            how += (f" + recency {self.recency_part:.4f} (relevance e^score times the decay {self.recency:.3f}, "
                    f"{age}: the score plus its log)")
        mention = ""
        if self.mention is not None:
            said = ", ".join(f"{e['label']} {e['prob']:.2f}" for e in self.mention["top_emotions"])
            mention = (f"; emotion read from the mention {self.mention['text']!r} of {self.mention['entity']} "
                       f"(kappa {self.mention['kappa']:.1f} [{said}])")
            if self.searched is not None:
                mention += f"; meaning and keywords of {self.searched!r}, the query without the name"
        return (f"score {self.score:.4f} = {how}; kappa: query {self.query_kappa:.1f}, "
                f"document {self.kappa:.1f}{strength} [{felt}]{mention}")


@dataclasses.dataclass(frozen=True)
class Query:
    """A query as the ranker sees it: its words, meaning vector and emotion."""

    text: str
    semantic: np.ndarray  # (d,) unit norm
    mu: np.ndarray  # (64,) unit norm
    probs: np.ndarray  # (28,) label posterior
    kappa: float


@dataclasses.dataclass(frozen=True)
class Ranked:
    """The k best candidates (in order) with every part of their scores."""

    rows: np.ndarray
    scores: np.ndarray
    semantic: np.ndarray
    lexical: np.ndarray
    emotion: np.ndarray
    kappa: np.ndarray
    probs: np.ndarray
    strength: np.ndarray  # NaN where the index stores none
    emotion_weight: float
    parts: dict[str, np.ndarray]  # what each signal added to each score
    semantic_share: float  # the share of relevance meaning got for this query
    mentions: np.ndarray | None = None  # with `about`: the mention (in About's table) each emotion was read from
    decay: np.ndarray | None = None  # with recency: each hit's decay factor
    age: np.ndarray | None = None  # with recency: each hit's age (NaN: the field is empty)
    affect: np.ndarray | None = None  # (n, 3) valence, arousal, dominance (NaN where the index stores none)
    fusion: str = "evidence"  # how hybrid weighed the parts (see Hit.fusion)


def search(engine, view, query: str, k: int, mode: str, where: str | None,
           emotion: Sequence[str] | None, span: str | None, settings=None, about: str | None = None,
           recency: str | None = None) -> list[Hit]:
    settings = settings or engine.settings
    if not isinstance(query, str) or not query.strip():
        raise InputError("the query is empty")
    if mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if k < 1:
        raise InputError("k must be at least 1")
    labels = [LABELS[label_index(name)] for name in (emotion or [])]
    fade = Recency.parse(view, recency) if recency else None
    allowed = view.store.filter_rows(where, labels)
    entity = None
    if about is not None:
        from hyperamy.entities import about as mentions_of

        entity = mentions_of(view, about, engine.mention_settings.names)
        allowed = entity.documents() if allowed is None else np.intersect1d(allowed, entity.documents())
    if allowed is not None:
        allowed = view.alive(allowed)
        if not len(allowed):
            return []
    encoded = engine.query_encoder.encode_query(query, span)
    felt = encoded.emotion
    asked = query
    if entity is not None:  # every candidate names the entity: look for what the rest of the query says
        asked = without_names(query, [*entity.keys, *(n for names in engine.mention_settings.names
                                                     if names[0] in entity.keys for n in names)])
        if asked != query:
            meaning = engine.query_encoder.encode_query(asked)
            encoded = dataclasses.replace(encoded, semantic=meaning.semantic)  # the feeling stays the query's
    with single_threaded_blas():
        ranked = rank(view, settings, view.manifest["models"]["alpha"],
                      Query(asked, encoded.semantic[0], felt.mu[0], felt.probs[0], float(felt.kappa[0])),
                      k, mode, allowed, entity, fade)
    stored = view.fetch(ranked.rows)
    warning = _feelingless(mode, felt, view.manifest["models"]["alpha"])
    hits = []
    for i, row in enumerate(ranked.rows):
        fields, row_probs, row_strength = stored[int(row)], ranked.probs[i], float(ranked.strength[i])
        top = np.argsort(-row_probs)[:3]
        felt_labels = by_label(row_strength, row_probs)
        hits.append(Hit(rank=i + 1, id=fields["id"], mode=mode, score=float(ranked.scores[i]),
                        semantic=float(ranked.semantic[i]), lexical=float(ranked.lexical[i]),
                        emotion_match=float(ranked.emotion[i]), emotion_weight=ranked.emotion_weight,
                        semantic_part=float(ranked.parts["semantic"][i]),
                        lexical_part=float(ranked.parts["lexical"][i]),
                        emotion_part=float(ranked.parts["emotion"][i]),
                        semantic_share=ranked.semantic_share, fusion=ranked.fusion,
                        warning=warning, query_kappa=float(felt.kappa[0]), kappa=float(ranked.kappa[i]),
                        top_emotions=tuple((LABELS[j], float(row_probs[j])) for j in top),
                        strength=None if felt_labels is None else round(row_strength, 4),
                        intensity=felt_labels, **affect_fields(ranked.affect[i]),
                        text=fields["text"], snippet=snippet(fields["text"], query), metadata=fields["metadata"],
                        mention=entity.describe(int(ranked.mentions[i])) if entity is not None else None,
                        recency=None if fade is None else float(ranked.decay[i]),
                        recency_part=float(ranked.parts.get("recency", np.zeros(len(ranked.rows)))[i]),
                        age=None if fade is None or np.isnan(ranked.age[i]) else round(float(ranked.age[i]), 4),
                        age_unit=None if fade is None else fade.age_unit,
                        searched=asked if asked != query else None))
    return hits


def without_names(query: str, names) -> str:
    """The query without an entity's names (and their possessive): what is left to look for among
    the passages that mention it. The query itself if nothing would be left."""
    left = query
    for name in sorted(set(names), key=len, reverse=True):
        pattern = rf"(?<!\w){name_pattern(name)}(?:[’']s)?(?!\w)"
        left = re.sub(pattern, " ", left, flags=re.IGNORECASE)
    left = " ".join(left.split())
    return left if words(left) else query


def _feelingless(mode: str, felt, alpha: float) -> str | None:
    """A warning when emotion mode gets a query that carries no feeling to rank by."""
    if mode != "emotion":
        return None
    top = LABELS[int(np.argmax(felt.probs[0]))]
    if top == "neutral" or float(certainty(felt.kappa[0], alpha)) < 0.05:
        return (f"the query reads as {top} (kappa {float(felt.kappa[0]):.1f}): emotion mode ranks only by "
                "feeling, so these hits are arbitrary; describe a feeling (\"someone grieving a loss\"), "
                "or search in hybrid mode, or keep the documents felt with one emotion")
    return None


@functools.lru_cache(maxsize=1)
def _blas_controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def single_threaded_blas():
    """NumPy's BLAS on one thread while a query is ranked.

    The products here are small (one query against at most the candidates, or 10k vectors);
    a second BLAS thread gains nothing on them, but its spinning afterwards slows the next
    query's encoder passes, which need both cores (search p50 at 10k docs: 70-90 ms with two
    BLAS threads, 36-44 ms with one, on 2 cores).
    """
    return _blas_controller().limit(limits=1, user_api="blas")


@dataclasses.dataclass
class Candidates:
    """Every document the legs proposed for one query, with what the re-ranker scores them on."""

    rows: np.ndarray
    semantic: np.ndarray  # cosine of query and document meaning
    lexical: np.ndarray  # BM25 (0 where no query word occurs)
    feeling: np.ndarray  # rerank.emotion_similarity: label overlap times the document's certainty
    kappa: np.ndarray
    probs: np.ndarray
    strength: np.ndarray
    affect: np.ndarray
    query_certainty: float
    semantic_share: float  # from both legs' evidence (rerank.semantic_share), or the fixed setting
    mentions: np.ndarray | None = None  # with `about`: the mention each feeling was read from


def candidates(view, settings, alpha: float, query: Query, k: int, mode: str, allowed: np.ndarray | None,
               about=None) -> Candidates:
    """What each leg proposes (at least `settings.candidates` each), and their scores on every signal.

    With `about` (entities.About) the emotion leg searches the entity's mentions, and each
    document's feeling is that of its mention that best fits the query's feeling.
    `settings` (config.SearchSettings) reach every leg, FAISS's HNSW breadth included.
    """
    wanted = max(settings.candidates, k)
    breadth = settings.hnsw_ef_search
    keyword_rows, keyword_scores = view.keyword.scores(query.text)
    query_certainty = float(certainty(query.kappa, alpha))
    legs, tops = [], {"semantic": np.zeros(0), "lexical": np.zeros(0)}
    if mode in ("hybrid", "semantic"):
        tops["semantic"], found = view.search("semantic", query.semantic, wanted, allowed, breadth)
        legs.append(found)
    if mode in ("hybrid", "lexical"):
        tops["lexical"], found = lexical.top(keyword_rows, keyword_scores, wanted, allowed)
        legs.append(found)
    if mode == "emotion" or (mode == "hybrid" and query_certainty > 0 and settings.emotion_weight > 0):
        legs.append(about.search(query.mu, wanted, allowed) if about is not None
                    else view.search("emotion", query.mu, wanted, allowed, breadth)[1])
    rows = np.unique(np.concatenate(legs)) if legs else np.zeros(0, np.int64)
    kappa, probs, strength, affect = view.feelings(rows)
    semantic = view.vectors("semantic", rows) @ query.semantic
    keyword = lexical.lookup(keyword_rows, keyword_scores, rows)
    chosen = None
    if about is not None:
        chosen, feeling = about.best_mentions(rows, lambda p, c: emotion_similarity(query.probs, p, c, alpha))
    else:
        feeling = emotion_similarity(query.probs, probs, kappa, alpha)
    share = settings.semantic_share
    if share is None:
        share = semantic_share(tops["semantic"], tops["lexical"]) if mode == "hybrid" else float(mode == "semantic")
    return Candidates(rows, semantic, keyword, feeling, kappa, probs, strength, affect, query_certainty, share, chosen)


def rank(view, settings, alpha: float, query: Query, k: int, mode: str, allowed: np.ndarray | None,
         about=None, fade: "Recency | None" = None) -> Ranked:
    """Candidates from each leg (`candidates`), scored by `rerank.contributions`; the k best, best first.

    With `fade`, each relevance (e^score) is multiplied by the document's decay: the score gains its log.
    """
    found = candidates(view, settings, alpha, query, k, mode, allowed, about)
    fusion = "fitted" if mode == "hybrid" and settings.fusion == "fitted" and settings.semantic_share is None \
        else "evidence"
    if fusion == "fitted":
        parts = fitted_contributions(found.semantic, found.lexical, found.feeling, found.query_certainty,
                                     found.semantic_share, found.strength, asks_feeling(query.text),
                                     settings.emotion_weight)
        weight = fitted_emotion_weight(found.query_certainty, settings.emotion_weight)
    else:
        parts, weight = contributions(mode, found.semantic, found.lexical, found.feeling, found.query_certainty,
                                      found.semantic_share, settings.emotion_weight)
    scores = sum(parts.values())
    decay = age = None
    if fade is not None and len(found.rows):
        decay, age, parts["recency"] = fade.decay(found.rows)  # relevance e^score times the decay: plus its log
        scores = scores + parts["recency"]
    scores = np.asarray(scores, np.float32)
    order = np.argsort(-scores, kind="stable")[:k]
    return Ranked(found.rows[order], scores[order], found.semantic[order], found.lexical[order], found.feeling[order],
                  found.kappa[order], found.probs[order], found.strength[order], weight,
                  {name: part[order] for name, part in parts.items()}, found.semantic_share,
                  None if found.mentions is None else found.mentions[order], None if decay is None else decay[order],
                  None if age is None else age[order], found.affect[order], fusion)


UNITS = {"s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0, "y": 365.25 * 86400.0}


@dataclasses.dataclass(frozen=True)
class Recency:
    """`--recency FIELD:HALF_LIFE`: a document's score fades by half every HALF_LIFE of age.

    For a date or time field (or ISO text) the age runs to now and HALF_LIFE takes a unit
    (90s, 30m, 12h, 7d, 2w, 1y); for a numeric field (a chapter, a version) the age runs to the
    largest value in the index and HALF_LIFE is in the field's own units. A document whose field
    is empty is not faded.
    """

    view: Any
    field: str
    half_life: float
    unit: str  # "seconds" or "field"
    newest: float

    @classmethod
    def parse(cls, view, spec: str) -> "Recency":
        if not hasattr(view.store, "query"):
            raise InputError("--recency is not served through search shards yet; open the index without --shards")
        field, _, life = spec.rpartition(":")
        if not field or not life:
            raise InputError(f"--recency {spec!r}: give FIELD:HALF_LIFE, e.g. published:30d or chapter:10")
        _, names = view.store.query("SELECT * FROM documents LIMIT 0")
        if field not in names or field == "_row":
            raise InputError(f"--recency: {field!r} is not a field of this index; its fields are "
                             f"{', '.join(n for n in names if n != '_row')}")
        kind = cls._kind(view, field)
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-z]*)\s*", life.lower())
        if not match or float(match.group(1)) <= 0:
            raise InputError(f"--recency {spec!r}: the half-life must be a positive number, with a unit for "
                             "dates (s, m, h, d, w, y)")
        number, unit = float(match.group(1)), match.group(2)
        if kind == "field":
            if unit:
                raise InputError(f"--recency {spec!r}: {field} holds numbers, so the half-life is a plain number "
                                 "in its units")
            found, _ = view.store.query(f"SELECT max({identifier(field)}) FROM documents")
            return cls(view, field, number, kind, float(found[0][0] or 0.0))
        if unit not in UNITS:
            raise InputError(f"--recency {spec!r}: {field} holds dates, so the half-life needs a unit: "
                             "s, m, h, d, w or y (e.g. 30d)")
        column = identifier(field)
        bad, _ = view.store.query(f"SELECT {column} FROM documents WHERE {column} IS NOT NULL "
                                  f"AND TRY_CAST({column} AS TIMESTAMP) IS NULL LIMIT 1")
        if bad:
            raise InputError(f"--recency: {field!r} holds text that is not a date, such as {str(bad[0][0])[:40]!r}; "
                             "give a date or time field (ISO text like 2026-12-02 counts)")
        import time

        return cls(view, field, number * UNITS[unit], kind, time.time())

    @property
    def age_unit(self) -> str:
        """What a hit's `age` counts: days to now for dates, else the field's own units below its largest value."""
        return "days" if self.unit == "seconds" else f"{self.field} below the largest ({self.newest:g})"

    @staticmethod
    def _kind(view, field: str) -> str:
        found, _ = view.store.query(f"SELECT typeof({identifier(field)}) FROM documents "
                                    f"WHERE {identifier(field)} IS NOT NULL LIMIT 1")
        kind = found[0][0] if found else "NULL"
        if kind in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE") or \
                kind.startswith("DECIMAL") or kind.startswith("UINTEGER") or kind.startswith("UBIGINT"):
            return "field"
        if kind.startswith("TIMESTAMP") or kind in ("DATE", "VARCHAR"):
            return "seconds"
        raise InputError(f"--recency: {field!r} holds {kind}; it needs numbers, dates or ISO date text")

    def decay(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(decay factor, age: in days for dates, in the field's units for numbers, the log of the
        decay) of each row; an empty field gives (1, NaN, 0).

        The log is computed as -ln 2 x age / half-life, never as log(0.5 ** ...): past ~1,074
        half-lives the power underflows to 0 and its log to -inf, which would collapse the ranking.
        """
        column = identifier(self.field)
        value = (f"epoch(CAST({column} AS TIMESTAMP))" if self.unit == "seconds" else f"CAST({column} AS DOUBLE)")
        found, _ = self.view.store.query(f"SELECT _row, {value} FROM documents WHERE _row = ANY(?)",
                                         [[int(r) for r in rows]])  # dates were checked by parse()
        ages = dict(found)
        age = np.asarray([np.nan if ages.get(int(r)) is None else max(self.newest - float(ages[int(r)]), 0.0)
                          for r in rows], np.float64)
        log_decay = -np.log(2.0) * np.nan_to_num(age) / self.half_life
        return np.exp(log_decay), age / (86400.0 if self.unit == "seconds" else 1.0), log_decay


def snippet(text: str, query: str, width: int = 240) -> str:
    """A window of the text around its first query word, on one line.

    Only the window is flattened, so a hit on a very long text costs what the window does.
    """
    if len(text) <= width:
        return re.sub(r"\s+", " ", text).strip()
    found = [re.search(re.escape(w), text, re.IGNORECASE) for w in words(query) if len(w) > 3]
    positions = [m.start() for m in found if m]
    start = max(0, min(positions) - width // 3) if positions else 0
    flat = re.sub(r"\s+", " ", text[start:start + 4 * width]).strip()
    end = start + len(text[start:start + 4 * width])
    window = flat[:width].strip()
    cut = len(flat) > width or end < len(text)
    return ("..." if start else "") + window + ("..." if cut else "")
