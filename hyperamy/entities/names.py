"""The names a user gives: which mentions an index looks for (MentionSettings), entity files
(`Name | alias | alias`), names compared without case or accents, and patterns that find them."""
from __future__ import annotations

import dataclasses
import re
import unicodedata
from pathlib import Path
from typing import Iterable, Sequence

from hyperamy.errors import InputError


@dataclasses.dataclass(frozen=True)
class MentionSettings:
    """Which mentions an index looks for; kept in its manifest, so later writes find the same."""

    names: tuple[tuple[str, ...], ...] = ()  # per entity: its name, then its aliases
    field: str | None = None  # a metadata field listing each document's entities
    detect: bool = True  # find capitalised names automatically

    def to_dict(self) -> dict:
        return {"names": [list(n) for n in self.names], "field": self.field, "detect": self.detect}

    @classmethod
    def from_dict(cls, values: dict | None) -> "MentionSettings":
        if values is None:  # an index written before mentions existed: it has none
            return cls(detect=False)
        return cls(tuple(tuple(n) for n in values.get("names", ())), values.get("field"),
                   bool(values.get("detect", True)))

    @property
    def enabled(self) -> bool:
        return bool(self.names or self.field or self.detect)



def read_entity_file(path: str | Path) -> tuple[tuple[str, ...], ...]:
    """Entities from a text file: one per line, `Name | alias | alias`; blank lines and # comments skipped.

    Raises:
        InputError: the file is missing, empty, or an alias is given to two entities.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"entity file {path} not found")
    entities, owner = [], {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        names = tuple(dict.fromkeys(n.strip() for n in line.split("|") if n.strip()))
        for name in names:
            if fold(name) in owner and owner[fold(name)] != names[0]:
                raise InputError(f"{path}:{number}: {name!r} is already an alias of {owner[fold(name)]!r}")
            owner[fold(name)] = names[0]
        entities.append(names)
    if not entities:
        raise InputError(f"entity file {path} lists no entities (one per line: Name | alias | alias)")
    return tuple(entities)


def fold(name: str) -> str:
    """A name compared without case, accents or spacing: "Dantès" and "dantes" are one name."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.replace("’", "'").casefold().split())


def alias_pattern(entities: Sequence[Sequence[str]]):
    """(regex matching every alias as a whole word, folded alias -> entity name), or None."""
    owner = {}
    for names in entities:
        for name in names:
            owner.setdefault(fold(name), names[0])
    aliases = sorted({n for names in entities for n in names if n.strip()}, key=len, reverse=True)
    if not aliases:
        return None
    body = "|".join(name_pattern(a) for a in aliases)
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)"), _FoldedLookup(owner)


def name_pattern(name: str) -> str:
    """A regex of a name as it may be written: its words apart by any white space ("Edmond\nDantès")."""
    return r"\s+".join(re.escape(word) for word in name.split())


class _FoldedLookup(dict):
    def __getitem__(self, key: str) -> str:
        return super().__getitem__(fold(key))


def field_names(value) -> list[str]:
    """A metadata value naming entities: a list of names, or one string separated by `|` or `;`."""
    if value is None:
        return []
    if isinstance(value, str):
        return [n.strip() for n in re.split(r"[|;]", value) if n.strip()]
    if isinstance(value, Iterable):
        return [str(n).strip() for n in value if str(n).strip()]
    return [str(value)]
