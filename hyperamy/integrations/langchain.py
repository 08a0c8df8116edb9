"""A LangChain retriever over a hyperamy index (`pip install "hyperamy[langchain]"`).

    from hyperamy.integrations.langchain import HyperAmyRetriever

    retriever = HyperAmyRetriever.from_index("indexes/default", k=4, emotion="fear")
    docs = retriever.invoke("a prisoner in despair")                    # list[Document]
    docs = retriever.invoke("a quarrel", where="intensity_anger > 0.3")  # options for one call

Each Document holds the passage as `page_content`, its id as `id`, and in `metadata` the
passage's own fields plus how hyperamy read and ranked it (`score`, `emotion`, `intensity`, ...).
"""
from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from hyperamy.integrations.hits import hit_metadata, open_index, search_options


class HyperAmyRetriever(BaseRetriever):
    """Ranks an index's passages by meaning, keywords and feeling (hyperamy's search)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: Any  # an open HyperAmy
    k: int = 4
    mode: str = "hybrid"  # hybrid, semantic, lexical or emotion
    where: str | None = None  # a SQL condition over the documents (README: --where)
    emotion: str | list[str] | None = None  # keep documents felt with one of these labels
    about: str | None = None  # keep passages naming this entity, ranked by how it is felt there
    recency: str | None = None  # "FIELD:HALF_LIFE": fade older documents

    @classmethod
    def from_index(cls, index, **options) -> "HyperAmyRetriever":
        """A retriever over an index folder (or an open HyperAmy)."""
        return cls(index=open_index(index), **options)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                **overrides) -> list[Document]:
        options = search_options({"k": self.k, "mode": self.mode, "where": self.where, "emotion": self.emotion,
                                  "about": self.about, "recency": self.recency}, overrides)
        return [Document(page_content=hit.text, metadata=hit_metadata(hit), id=hit.id)
                for hit in self.index.search(query, **options)]
