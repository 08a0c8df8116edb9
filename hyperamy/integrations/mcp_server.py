"""`hyperamy mcp`: an index's tools for agents over the Model Context Protocol (the official `mcp`
SDK, `pip install "hyperamy[mcp]"`), on stdio.

Tools: search (with feeling, filters and an entity to be about), add, delete, predict, entities,
entity, arc and info. Each answers in the JSON shapes of the CLI's --json and the HTTP API; a bad
argument comes back as a tool error with the CLI's one-line message. Nothing but the protocol is
written to stdout.
"""
from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

INSTRUCTIONS = (
    "hyperamy is a search index that reads how text feels as well as what it says. search ranks "
    "passages by meaning, keywords and feeling; filter with emotion (a GoEmotions label such as fear, "
    "joy, anger, sadness), where (a SQL condition over fields such as chapter, strength, intensity_fear "
    "or any metadata field) or about (an entity's name, ranked by how that entity is felt). "
    "predict reads the feeling of texts; entities and entity say who is mentioned and how they are "
    "felt; arc says how feeling moves through the index.")


def build_server(engine) -> MCPServer:
    """The MCP server over an open HyperAmy."""
    server = MCPServer("hyperamy", instructions=INSTRUCTIONS)
    tool = _tools_of(server)

    @tool
    def search(query: str, k: int = 5, mode: str = "hybrid", where: str | None = None,
               emotion: list[str] | None = None, about: str | None = None) -> list[dict[str, Any]]:
        """Find passages by what they say and how they feel. mode: hybrid (default), semantic,
        lexical or emotion. emotion: keep passages felt with one of these labels. where: a SQL
        condition over the passages' fields (e.g. "chapter > 3 AND intensity_fear > 0.2"). about:
        an entity's name; keeps passages naming it, ranked by how it is felt there."""
        return [_hit(hit) for hit in engine.search(query, k=k, mode=mode, where=where, emotion=emotion, about=about)]

    @tool
    def add(documents: list[dict[str, Any]]) -> dict[str, Any]:
        """Add or update documents: each an object with id, text and any metadata fields."""
        import dataclasses

        return {**dataclasses.asdict(engine.add(documents)), "documents": len(engine)}

    @tool
    def delete(ids: list[str]) -> dict[str, Any]:
        """Remove documents by id; says which were there."""
        removed = engine.remove(ids)
        return {"removed": removed, "not_found": [i for i in ids if i not in set(removed)], "documents": len(engine)}

    @tool
    def predict(texts: list[str], span: str | None = None) -> list[dict[str, Any]]:
        """Read how each text feels: its top emotions, certainty (kappa), strength (0..1) and, where
        the model has them, valence, arousal and dominance (1..5). span: feel only that part (a
        character's name) through its clause."""
        batch = engine.encoder.encode(texts, spans=None if span is None else [span] * len(texts)).emotion
        return [{"text": text, "top_emotions": [{"label": n, "prob": round(p, 4)} for n, p in batch.top(i, 5)],
                 "kappa": round(float(batch.kappa[i]), 3),
                 "strength": None if batch.strength is None else round(float(batch.strength[i]), 4),
                 **batch.affect_of(i)} for i, text in enumerate(texts)]

    @tool
    def entities(limit: int = 20) -> list[dict[str, Any]]:
        """The entities (characters, places) mentioned most, with how each is felt."""
        return list(engine.entities(limit=limit))

    @tool
    def entity(name: str, top: int = 3, passages: int = 2) -> dict[str, Any]:
        """How one entity is felt: its mentions, top emotions and the passages where each is strongest."""
        profile = engine.entity(name, top=top, passages=passages)
        profile.pop("arc", None)  # fifty points an agent rarely needs; `arc` gives them
        return profile

    @tool
    def arc(by: str | None = None, entity: str | None = None, labels: str = "ekman", points: int = 20) -> dict[str, Any]:
        """How feeling moves through the index: in index order (points: how many) or one point per
        value of a field (by="chapter", a date field, ...); entity: how that entity is felt instead."""
        return engine.arc(by=by, entity=entity, labels=labels, points=points).to_dict()

    @tool
    def info() -> dict[str, Any]:
        """The index: how many documents, its fields, models and settings."""
        return engine.info()

    return server


def _tools_of(server: MCPServer):
    """Register a function as a tool whose hyperamy errors (bad input, a busy or missing index)
    reach the agent as their one-line message, not as "Error executing tool"."""
    import functools

    from mcp.server.mcpserver.exceptions import ToolError

    from hyperamy.errors import HyperamyError

    def register(function):
        @functools.wraps(function)
        def answered(*args, **kwargs):
            try:
                return function(*args, **kwargs)
            except HyperamyError as exc:
                raise ToolError(str(exc)) from None

        return server.tool()(answered)

    return register


def _hit(hit) -> dict[str, Any]:
    value = hit.to_dict()
    for name in ("snippet", "semantic_share", "query_kappa", "searched"):
        value.pop(name, None)
    return value


def run(index: str | None, weights: str | None = None) -> None:
    """Serve an index on stdio until the client closes it."""
    from hyperamy.engine import HyperAmy

    build_server(HyperAmy.open(index, weights=weights)).run("stdio")  # the model loads on first use
