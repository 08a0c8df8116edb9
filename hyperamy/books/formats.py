"""Book files -> one plain text and its chapters.

Character offsets everywhere count characters of that text: for .txt and .md the file itself
(UTF-8, line ends read as "\\n"), for .html and .epub the text left when the markup is removed
(paragraphs separated by a blank line). Parsers: markdown-it-py finds Markdown headings (so a
`#` line inside a code block is not one); BeautifulSoup (with Python's own html.parser, no C
library) reads HTML and the XHTML of EPUB chapters; an EPUB's container, package and table of
contents are small standard XML files read with zipfile and ElementTree. EbookLib, the usual
EPUB library, is AGPL-licensed, which would bind everyone who ships hyperamy.
"""
from __future__ import annotations

import dataclasses
import posixpath
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

from hyperamy.errors import DataFormatError

BOOK_FORMATS = {".txt": "txt", ".text": "txt", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html",
                ".xhtml": "html", ".epub": "epub"}
# A chapter heading in plain text: alone on its line after a blank line, "CHAPTER XII",
# "Chapter 3. Title", "Book One", "PART II: The Return" (at most 100 characters). A book with
# "Chapter" headings is cut only at those.
NUMBER = r"(?:\d+|[IVXLCDM]+|[ivxlcdm]+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|[a-z]+teen|" \
         r"twenty|thirty|forty|fifty)"
TEXT_HEADING = re.compile(rf"(?:(?<=\n\n)|(?<=\A))[ \t]*(?:chapter|book|part|volume)[ \t]+{NUMBER}\b[^\n]{{0,90}}$",
                          re.IGNORECASE | re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class Chapter:
    """A stretch of the book's text: its heading (empty before the first) and where its text is."""

    title: str
    start: int  # first character after the heading
    end: int


@dataclasses.dataclass(frozen=True)
class Book:
    text: str
    chapters: list[Chapter]  # in order; the first has no title when text comes before any heading


def book_format(path: str | Path) -> str | None:
    """"txt", "md", "html" or "epub" for a book file name, else None."""
    return BOOK_FORMATS.get(Path(path).suffix.lower())


def read_book(path: str | Path, kind: str | None = None, data: bytes | None = None) -> Book:
    """Read a book file (or `data` in the format `kind`) into its text and chapters.

    Raises:
        DataFormatError: naming the file, for text that is not UTF-8, an EPUB that is not one,
            or a book with no text.
    """
    kind = kind or book_format(path)
    if kind is None:
        raise DataFormatError(f"not a book file; use one of {', '.join(sorted(BOOK_FORMATS))}", str(path))
    if data is None:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise DataFormatError(f"cannot read: {exc.strerror}", str(path)) from None
    if kind == "epub":
        book = _epub(data, path)
    else:
        text = _decoded(data, path)
        book = {"txt": _plain, "md": _markdown, "html": _html}[kind](text)
    if not book.text.strip():
        raise DataFormatError("no text in this book", str(path))
    return book


def _decoded(data: bytes, path) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"not valid UTF-8 (byte {exc.start}); convert it, e.g. iconv -f latin1 -t utf-8",
                              str(path)) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _chapters(text: str, headings: list[tuple[int, int, str]]) -> list[Chapter]:
    """Chapters between headings ((start, end, title) in order); stretches with no text (a table of
    contents' lines, a part title straight before a chapter's) are left out."""
    bounds = [(0, 0, "")] + headings
    chapters = []
    for (_, start, title), following in zip(bounds, headings + [(len(text), len(text), "")]):
        if text[start:following[0]].strip():
            chapters.append(Chapter(title, start, following[0]))
    return chapters


def _plain(text: str) -> Book:
    headings = []
    for match in TEXT_HEADING.finditer(text):
        title, end = match.group(0).strip(), match.end()
        after = re.match(r"\n([^\n]{1,100})\n(?:\n|\Z)", text[end:])
        if after and not TEXT_HEADING.fullmatch(after.group(1)) and not re.match(r"(?i)\s*(chapter|book|part|volume)\s",
                                                                                 after.group(1)):
            title, end = f"{title} {after.group(1).strip()}", end + len(after.group(0).rstrip("\n")) + 1
        headings.append((match.start(), end, title))
    # with chapter headings, "VOLUME ONE" / "PART II" are text inside a chapter, not chapters of their own
    if any(h[2].lower().startswith("chapter") for h in headings):
        headings = [h for h in headings if h[2].lower().startswith("chapter")]
    return Book(text, _chapters(text, headings))


def _chapter_level(levels: list[int]) -> int:
    """The heading level that marks chapters: the highest one used more than once (one `#` title
    over many `##` chapters makes `##` the chapters), else the highest."""
    repeated = [level for level in sorted(set(levels)) if levels.count(level) > 1]
    return repeated[0] if repeated else min(levels)


def _markdown(text: str) -> Book:
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse(text)
    starts = [0]
    for line in text.split("\n"):
        starts.append(starts[-1] + len(line) + 1)
    found = [(int(token.tag[1]), token.map, tokens[i + 1].content) for i, token in enumerate(tokens)
             if token.type == "heading_open" and token.map]
    if not found:
        return Book(text, _chapters(text, []))
    level = _chapter_level([f[0] for f in found])
    headings = [(starts[lines[0]], min(starts[lines[1]], len(text)), title.strip())
                for depth, lines, title in found if depth == level]
    return Book(text, _chapters(text, headings))


BLOCKS = frozenset("address article aside blockquote dd div dl dt figcaption figure footer form h1 h2 h3 h4 h5 h6 "
                   "header hr li main nav ol p pre section table tbody td th thead tr ul".split())
SKIPPED = frozenset("head script style template noscript svg math title".split())


class _TextWriter:
    """HTML elements -> text with a blank line between blocks, recording where each heading stands."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.headings: list[tuple[int, int, int, str]] = []  # (level, start, end, title)

    def add(self, piece: str) -> None:
        if piece:
            self.parts.append(piece)
            self.length += len(piece)

    def paragraph(self) -> None:
        while self.parts and self.parts[-1].endswith(" "):
            last = self.parts.pop()
            self.length -= len(last)
            self.add(last.rstrip(" "))
        tail = "".join(self.parts[-2:])
        if self.length and not tail.endswith("\n\n"):
            self.add("\n" if tail.endswith("\n") else "\n\n")

    def walk(self, node, preformatted: bool = False) -> None:
        from bs4 import Comment, Doctype, NavigableString, ProcessingInstruction, Tag

        for child in node.children:
            if isinstance(child, (Comment, Doctype, ProcessingInstruction)):
                continue
            if isinstance(child, NavigableString):
                piece = str(child) if preformatted else re.sub(r"\s+", " ", str(child))
                if not preformatted and (not self.parts or self.parts[-1].endswith(("\n", " "))):
                    piece = piece.lstrip(" ")
                self.add(piece)
            elif isinstance(child, Tag) and child.name == "br":
                while self.parts and self.parts[-1].endswith(" "):
                    self.parts[-1] = self.parts[-1][:-1]
                    self.length -= 1
                self.add("\n")
            elif isinstance(child, Tag) and child.name not in SKIPPED:
                block = child.name in BLOCKS
                if block:
                    self.paragraph()
                start = self.length
                self.walk(child, preformatted or child.name == "pre")
                if re.fullmatch(r"h[1-6]", child.name):
                    self.paragraph()
                    title = re.sub(r"\s+", " ", child.get_text(" ")).strip()
                    if title:
                        self.headings.append((int(child.name[1]), start, self.length, title))
                elif block:
                    self.paragraph()

    def text(self) -> str:
        return "".join(self.parts)


def _html_text(markup: str | bytes, writer: _TextWriter | None = None) -> _TextWriter:
    from bs4 import BeautifulSoup

    writer = writer or _TextWriter()
    soup = BeautifulSoup(markup, "html.parser")
    writer.walk(soup.body or soup)
    writer.paragraph()
    return writer


def _html(text: str) -> Book:
    writer = _html_text(text)
    body = writer.text()
    if not writer.headings:
        return Book(body, _chapters(body, []))
    level = _chapter_level([h[0] for h in writer.headings])
    return Book(body, _chapters(body, [(s, e, t) for depth, s, e, t in writer.headings if depth == level]))


CONTAINER = "{urn:oasis:names:tc:opendocument:xmlns:container}"
OPF = "{http://www.idpf.org/2007/opf}"
NCX = "{http://www.daisy.org/z3986/2005/ncx/}"


def _epub(data: bytes, path) -> Book:
    """An EPUB's chapters are its spine documents in reading order, each titled from the table of
    contents (EPUB 3 nav or EPUB 2 NCX), else by its first heading."""
    import io

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        container = ElementTree.fromstring(archive.read("META-INF/container.xml"))
        package_path = container.find(f".//{CONTAINER}rootfile").get("full-path")
        package = ElementTree.fromstring(archive.read(package_path))
    except (zipfile.BadZipFile, KeyError, AttributeError, ElementTree.ParseError) as exc:
        raise DataFormatError(f"not a readable EPUB ({type(exc).__name__}: {exc})", str(path)) from None
    folder = posixpath.dirname(package_path)
    items = {item.get("id"): item for item in package.iter(f"{OPF}item")}
    spine = [items[ref.get("idref")] for ref in package.iter(f"{OPF}itemref") if ref.get("idref") in items]
    titles = _toc_titles(archive, folder, items.values())
    writer = _TextWriter()
    headings = []
    for item in spine:
        href = posixpath.normpath(posixpath.join(folder, item.get("href", "")))
        try:
            markup = archive.read(href)
        except KeyError:
            raise DataFormatError(f"its spine names {href}, which the EPUB does not hold", str(path)) from None
        start, first = writer.length, len(writer.headings)
        _html_text(markup, writer)
        if writer.length == start:
            continue
        inside = writer.headings[first:]
        title = titles.get(href) or (inside[0][3] if inside else "")
        # the chapter's text starts after its own heading, when the heading opens it
        opens = inside and not "".join(writer.parts)[start:inside[0][1]].strip()
        begins = inside[0][2] if opens else start
        headings.append((start, begins, title))
    text = writer.text()
    return Book(text, _chapters(text, headings))


def _toc_titles(archive: zipfile.ZipFile, folder: str, items) -> dict[str, str]:
    """{document path: its first title in the table of contents}."""
    titles: dict[str, str] = {}

    def name(href: str, base: str) -> str:
        return posixpath.normpath(posixpath.join(base, href.split("#")[0]))

    for item in items:
        href = posixpath.normpath(posixpath.join(folder, item.get("href", "")))
        try:
            if "nav" in (item.get("properties") or "").split():
                from bs4 import BeautifulSoup

                soup = BeautifulSoup(archive.read(href), "html.parser")
                for link in soup.select("nav a[href]"):
                    titles.setdefault(name(link["href"], posixpath.dirname(href)), link.get_text(" ", strip=True))
            elif item.get("media-type") == "application/x-dtbncx+xml":
                ncx = ElementTree.fromstring(archive.read(href))
                for point in ncx.iter(f"{NCX}navPoint"):
                    label, content = point.find(f"{NCX}navLabel/{NCX}text"), point.find(f"{NCX}content")
                    if label is not None and content is not None and label.text:
                        titles.setdefault(name(content.get("src", ""), posixpath.dirname(href)), label.text.strip())
        except (KeyError, ElementTree.ParseError):
            continue  # a missing or broken table of contents: chapters are titled by their headings
    return titles
