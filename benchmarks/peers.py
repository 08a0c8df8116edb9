"""The systems a user would otherwise pick, each behind the same tiny interface: build(), search()."""
from __future__ import annotations

import numpy as np

from hyperamy.analyzer import words


class BM25Peer:
    """bm25s over lower-cased `\\w+` tokens."""

    name = "BM25 (bm25s)"

    def build(self, ids, texts):
        import bm25s

        self.ids = list(ids)
        self.retriever = bm25s.BM25()
        self.retriever.index([words(t) for t in texts], show_progress=False)

    def scores(self, query):
        tokens = [t for t in words(query) if t in self.retriever.vocab_dict]
        return self.retriever.get_scores(tokens) if tokens else np.zeros(len(self.ids))

    def search(self, query, k):
        scores = self.scores(query)
        return [self.ids[i] for i in np.argsort(-scores, kind="stable")[:k] if scores[i] > 0]


class DensePeer:
    """sentence-transformers MiniLM vectors in an exact FAISS inner-product index."""

    name = "MiniLM + FAISS (dense)"

    def __init__(self, model_folder: str, batch_size: int = 64):
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(model_folder, device="cpu")
        self.batch_size = batch_size

    def build(self, ids, texts):
        import faiss

        self.ids = list(ids)
        vectors = self.model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True)
        self.index = faiss.IndexFlatIP(vectors.shape[1])
        self.index.add(np.ascontiguousarray(vectors, np.float32))

    def search(self, query, k):
        vector = self.model.encode([query], normalize_embeddings=True)
        _, found = self.index.search(np.ascontiguousarray(vector, np.float32), k)
        return [self.ids[i] for i in found[0] if i >= 0]


class FusionPeer:
    """Reciprocal-rank fusion (k = 60) of the BM25 and dense peers' top 100."""

    name = "BM25 + dense, reciprocal-rank fusion"

    def __init__(self, bm25: BM25Peer, dense: DensePeer, k: int = 60, depth: int = 100):
        self.bm25, self.dense, self.k, self.depth = bm25, dense, k, depth

    def build(self, ids, texts):
        pass  # reuses the two built peers

    def search(self, query, k):
        return reciprocal_rank_fusion([self.bm25.search(query, self.depth), self.dense.search(query, self.depth)],
                                      self.k)[:k]


def reciprocal_rank_fusion(rankings, k: int = 60) -> list:
    """Documents by the sum over rankings of 1 / (k + rank), best first."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking, 1):
            fused[doc] = fused.get(doc, 0.0) + 1.0 / (k + rank)
    return sorted(fused, key=lambda d: -fused[d])


class TxtaiPeer:
    """txtai's hybrid (dense + sparse) Embeddings over the same local MiniLM folder."""

    name = "txtai hybrid"

    def __init__(self, model_folder: str):
        from txtai import Embeddings

        self.embeddings = Embeddings(path=model_folder, hybrid=True, content=True)

    def build(self, ids, texts):
        self.embeddings.index([(i, t, None) for i, t in zip(ids, texts)])

    def search(self, query, k):
        return [row["id"] for row in self.embeddings.search(query, k)]


def txtai_or_reason(model_folder: str):
    """A txtai peer, or the reason it cannot run here."""
    try:
        return TxtaiPeer(model_folder), None
    except Exception as exc:  # report any failure as a table row instead of stopping the benchmark
        return None, f"txtai could not start offline: {type(exc).__name__}: {exc}"


class LexiconPeer:
    """NRC emotion lexicon (NRCLex): each text as its 10 affect frequencies, ranked by cosine."""

    name = "NRC emotion lexicon (NRCLex)"

    def build(self, ids, texts):
        self.ids = list(ids)
        self.vectors = np.stack([self.affect(t) for t in texts])

    @staticmethod
    def affect(text: str) -> np.ndarray:
        from nrclex import NRCLex
        from nrclex.core import EMOTION_ORDER

        lexicon = NRCLex()
        lexicon.load_token_list(words(text))
        vector = np.asarray([lexicon.raw_emotion_scores.get(e, 0) for e in EMOTION_ORDER], np.float32)
        norm = np.linalg.norm(vector)
        return vector / norm if norm else vector

    def search(self, query, k):
        scores = self.vectors @ self.affect(query)
        return [self.ids[i] for i in np.argsort(-scores, kind="stable")[:k]]
