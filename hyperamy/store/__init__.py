"""The documents' texts, metadata and feelings as SQL (DuckDB over the segments' Parquet files):
listing, exporting, and the filters a user writes with --where."""
from hyperamy.store.database import Store, cancelled_by, readable_documents
from hyperamy.store.files import FileQueryError
from hyperamy.store.sql import condition, identifier, literal

__all__ = ["FileQueryError", "Store", "cancelled_by", "condition", "identifier", "literal", "readable_documents"]
