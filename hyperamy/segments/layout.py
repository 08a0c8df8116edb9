"""The files of a segment folder and the columns of its docs.parquet."""
from __future__ import annotations

from hyperamy.emotions import AFFECT, LABELS

DOCS_FILE = "docs.parquet"
MENTIONS_FILE, MENTION_FEELINGS = "mentions.parquet", "mention_feelings.npy"  # entity mentions (entities/detect.py)
MENTION_FILES = (MENTIONS_FILE, MENTION_FEELINGS, "mention.faiss")  # read when entities are asked about
HITS_FILE, OFFSETS_FILE = "hits.jsonl", "hits_offsets.npy"  # [id, text, metadata] per line, for fetching hits
COMPLETE = "complete"  # written last: a folder without it was never finished
# Columns of docs.parquet that metadata may not take; such fields are stored with a meta_ prefix.
RESERVED = {"_row", "row", "id", "text", "hash", "kappa", "emotion", "emotions", "probs", "strength",
            *AFFECT, *(f"intensity_{name}" for name in LABELS)}
ROW_GROUP = 2048  # small row groups let a search fetch its hits without reading whole columns
INTENSITY_COLUMNS = tuple(f"intensity_{name}" for name in LABELS if name != "neutral")
FIXED_COLUMNS = ("row", "id", "text", "hash", "kappa", "emotion", "emotions", "strength", *INTENSITY_COLUMNS,
                 *AFFECT)


def metadata_column(name: str) -> str:
    return f"meta_{name}" if name.lower() in RESERVED else name
