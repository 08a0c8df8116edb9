"""A LlamaIndex retriever over a hyperamy index (`pip install "hyperamy[llamaindex]"`).

    from hyperamy.integrations.llamaindex import HyperAmyRetriever
    from llama_index.core.vector_stores import MetadataFilter, MetadataFilters

    retriever = HyperAmyRetriever("indexes/default", k=4, filters=MetadataFilters(filters=[
        MetadataFilter(key="chapter", operator=">=", value=10)]))
    nodes = retriever.retrieve("a prisoner in despair")    # list[NodeWithScore]

Each node is a TextNode with the document's id and text; its metadata holds the passage's own
fields and how hyperamy read and ranked it, and only the passage's own fields reach an LLM or an
embedder. LlamaIndex's MetadataFilters become a `--where` condition (`where_of`).
"""
from __future__ import annotations

from typing import Any

from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from hyperamy.errors import InputError
from hyperamy.integrations.hits import FEELING_KEYS, hit_metadata, open_index


class HyperAmyRetriever(BaseRetriever):
    """Ranks an index's passages by meaning, keywords and feeling (hyperamy's search)."""

    def __init__(self, index, k: int = 4, mode: str = "hybrid", where: str | None = None,
                 emotion: str | list[str] | None = None, about: str | None = None, recency: str | None = None,
                 filters=None, **base: Any) -> None:
        super().__init__(**base)
        self.index = open_index(index)
        condition = where_of(filters) if filters is not None else None
        if condition and where:
            condition = f"({where}) AND {condition}"
        self.options = {"k": k, "mode": mode, "where": condition or where, "emotion": emotion, "about": about,
                        "recency": recency}

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        found = []
        for hit in self.index.search(query_bundle.query_str, **self.options):
            metadata = hit_metadata(hit)
            hidden = [key for key in metadata if key in FEELING_KEYS]
            node = TextNode(id_=hit.id, text=hit.text, metadata=metadata, excluded_llm_metadata_keys=hidden,
                            excluded_embed_metadata_keys=hidden)
            found.append(NodeWithScore(node=node, score=hit.score))
        return found


_COMPARE = {"==": "=", "!=": "<>", ">": ">", "<": "<", ">=": ">=", "<=": "<="}


def where_of(filters) -> str:
    """LlamaIndex MetadataFilters as one SQL condition over the documents view (nested filters too).

    Supports ==, !=, >, <, >=, <=, in, nin, contains (a list field holds the value), text_match (SQL
    LIKE) and is_empty; values are quoted, never pasted as SQL."""
    from hyperamy.segments import metadata_column
    from hyperamy.store import identifier

    parts = []
    for item in filters.filters:
        if hasattr(item, "filters"):  # a nested MetadataFilters
            parts.append(f"({where_of(item)})")
            continue
        column, operator, value = identifier(metadata_column(item.key)), str(item.operator.value), item.value
        if operator in _COMPARE:
            parts.append(f"{column} {_COMPARE[operator]} {_literal(value)}")
        elif operator in ("in", "nin"):
            values = value if isinstance(value, (list, tuple)) else [value]
            listed = ", ".join(_literal(v) for v in values) or "NULL"
            parts.append(f"{column} {'IN' if operator == 'in' else 'NOT IN'} ({listed})")
        elif operator == "contains":
            parts.append(f"list_contains({column}, {_literal(value)})")
        elif operator == "text_match":
            parts.append(f"{column} LIKE {_literal('%' + str(value) + '%')}")
        elif operator == "is_empty":
            parts.append(f"{column} IS NULL")
        else:
            raise InputError(f"hyperamy does not take the {operator!r} metadata filter; use where= for it")
    joined = f" {str(filters.condition.value).upper()} " if filters.condition is not None else " AND "
    condition = joined.join(parts) or "TRUE"
    return condition if joined.strip() != "NOT" else f"NOT ({' AND '.join(parts)})"


def _literal(value) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            raise InputError(f"a metadata filter's value must be a finite number, not {value}")
        return repr(value)
    if value is None:
        return "NULL"
    from hyperamy.store import literal

    return literal(value)
