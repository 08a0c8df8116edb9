"""Entities: who is mentioned, and how each is felt.

detect.py finds the mentions in a text (names listed by the user, a metadata field, or detected
capitalised names, with the word lists in words/); they are felt at index time and stored per
segment (segments/); ask.py answers what users ask of them (which entities, how one is felt,
where, and the mentions a search about one ranks by).
"""
from hyperamy.entities.ask import About, about, entities, profile, related, resolve

__all__ = ["About", "about", "entities", "profile", "related", "resolve"]
