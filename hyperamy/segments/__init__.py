"""Immutable segments: a folder of documents written once, read by any number of processes.

A segment holds its documents' texts and metadata (`docs.parquet`, queried through DuckDB),
their ids sorted for lookups (`ids.npy`), their semantic and emotion vectors (FAISS files), their
feelings (kappa and the 28 label probabilities, `feelings.npy`), their global row numbers
(`rows.npy`) and their words (lexical.TermCounts). The manifest records every file's size and SHA-256; loading checks both,
so a damaged file is named instead of silently changing results.

layout.py names the files and columns; feelings.py the per-document feelings row; records.py
what a new segment holds; tables.py and write.py write it; read.py reads it back.
"""
from hyperamy.segments.feelings import (AFFECT_AT, FEELING_COLUMNS, STRENGTH_AT, Feelings, feelings_table,
                                        widen_feelings)
from hyperamy.segments.layout import (COMPLETE, DOCS_FILE, FIXED_COLUMNS, HITS_FILE, INTENSITY_COLUMNS,
                                      MENTION_FEELINGS, MENTION_FILES, MENTIONS_FILE, OFFSETS_FILE, RESERVED,
                                      ROW_GROUP, metadata_column)
from hyperamy.segments.ids import IDS_FILE, id_keys, ids_from_documents
from hyperamy.segments.read import Segment, load_segment, read_mentions
from hyperamy.segments.records import Documents, Mentions
from hyperamy.segments.tables import affect_columns, docs_table, metadata_columns, strength_columns
from hyperamy.segments.write import finish, hits_from_documents, write_arrays, write_hits, write_mentions, write_segment

__all__ = ["AFFECT_AT", "COMPLETE", "DOCS_FILE", "Documents", "FEELING_COLUMNS", "FIXED_COLUMNS", "Feelings", "HITS_FILE",
           "IDS_FILE", "INTENSITY_COLUMNS", "MENTIONS_FILE", "MENTION_FEELINGS", "MENTION_FILES", "Mentions",
           "OFFSETS_FILE", "RESERVED", "ROW_GROUP", "STRENGTH_AT", "Segment", "affect_columns", "docs_table",
           "feelings_table", "finish", "hits_from_documents", "id_keys", "ids_from_documents", "load_segment",
           "metadata_column", "metadata_columns",
           "read_mentions", "strength_columns", "widen_feelings", "write_arrays", "write_hits", "write_mentions",
           "write_segment"]
