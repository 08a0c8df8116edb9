"""Books: prose files (.txt, .md, .html, .epub) read into chapters and cut into passages.

`formats` turns a file into one plain text and its chapters (where each starts and its
heading); `chunking` cuts text into passages of at most a token budget, keeping paragraphs
and sentences whole where they fit; `records` makes index records of those passages, with
stable ids (`file#n`), and cuts long records of any corpus the same way (`--chunk`).
"""
from hyperamy.books.chunking import Chunking
from hyperamy.books.formats import BOOK_FORMATS, Book, Chapter, read_book
from hyperamy.books.records import book_records, chunked_records

__all__ = ["BOOK_FORMATS", "Book", "Chapter", "Chunking", "book_records", "chunked_records", "read_book"]
