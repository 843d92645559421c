"""Long HTML texts cut into messages Telegram accepts, measured as Telegram measures them (in
UTF-16 code units of the visible text: tags count nothing, an entity counts as what it stands for).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from html import unescape

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024

_TAG = re.compile(r"<[^>]*>")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]*);")
_TAG_NAME = re.compile(r"</?\s*([A-Za-z][A-Za-z0-9-]*)")
# Coarsest first: paragraphs (a blank line), then lines; below that the text is cut hard.
_SEPARATORS = (re.compile(r"\n[ \t\r]*\n\s*"), re.compile(r"\n"))


def _units(text: str) -> int:
    # Telegram measures in UTF-16 code units; never fewer than characters, so the safe side.
    return len(text.encode("utf-16-le")) // 2


class _Layout:
    """Where an HTML text may be cut, and how much visible text lies before each position."""

    def __init__(self, source: str) -> None:
        self.source = source
        size = len(source)
        self.visible = [0] * (size + 1)
        self.cuttable = [True] * (size + 1)
        index = seen = 0
        while index < size:
            char = source[index]
            token = None
            if char == "<":
                token = _TAG.match(source, index)
                width = 0
            elif char == "&":
                token = _ENTITY.match(source, index)
                width = _units(unescape(token.group())) if token else 0
            if token is not None:
                for inner in range(index + 1, token.end()):
                    self.visible[inner] = seen
                    self.cuttable[inner] = False
                seen += width
                index = token.end()
            else:
                seen += 2 if ord(char) > 0xFFFF else 1
                index += 1
            self.visible[index] = seen

    def width(self, start: int, end: int) -> int:
        return self.visible[end] - self.visible[start]


def visible_length(html: str) -> int:
    """How long Telegram considers an HTML text: tags count nothing, an entity one character."""
    return _Layout(html).visible[-1]


def split_text(html: str, limit: int = TEXT_LIMIT) -> list[str]:
    """A text longer than `limit` visible characters becomes several, cut at blank lines, else at
    line breaks, else hard, never inside a tag or an entity; tags open at a cut are closed and
    reopened."""
    if not html.strip():
        return []
    layout = _Layout(html)
    if layout.visible[-1] <= limit:
        return [html]
    ranges = _split(layout, 0, len(html), 0, limit)
    return _balance(layout, ranges)


def _split(layout: _Layout, start: int, end: int, level: int, limit: int) -> list[tuple[int, int]]:
    if layout.width(start, end) <= limit:
        return [(start, end)]
    if level == len(_SEPARATORS):
        return _cut_hard(layout, start, end, limit)
    pieces: list[tuple[int, int]] = []
    position = start
    for match in _SEPARATORS[level].finditer(layout.source, start, end):
        if layout.cuttable[match.start()]:
            pieces.append((position, match.start()))
            position = match.end()
    pieces.append((position, end))
    chunks: list[tuple[int, int]] = []
    current: tuple[int, int] | None = None
    for piece_start, piece_end in pieces:
        if layout.width(piece_start, piece_end) > limit:
            if current is not None:
                chunks.append(current)
                current = None
            chunks.extend(_split(layout, piece_start, piece_end, level + 1, limit))
        elif current is None:
            current = (piece_start, piece_end)
        elif layout.width(current[0], piece_end) <= limit:
            current = (current[0], piece_end)
        else:
            chunks.append(current)
            current = (piece_start, piece_end)
    if current is not None:
        chunks.append(current)
    return chunks


def _cut_hard(layout: _Layout, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    source = layout.source
    chunks: list[tuple[int, int]] = []
    while layout.width(start, end) > limit:
        cut = bisect_right(layout.visible, layout.visible[start] + limit, start, end + 1) - 1
        while cut > start and not layout.cuttable[cut]:
            cut -= 1
        # Leave an opening tag to the next chunk rather than end this one with an empty element.
        while cut > start and source[cut - 1] == ">":
            tag_start = source.rfind("<", start, cut)
            if tag_start < 0 or source.startswith("</", tag_start):
                break
            cut = tag_start
        if cut <= start:  # a single visible character wider than the limit: cannot happen >= 2
            cut = start + 1
        # A word boundary in the second half of the chunk reads better than a cut mid-word.
        space = max(source.rfind(" ", start, cut), source.rfind("\n", start, cut))
        if space > start and layout.cuttable[space] and layout.width(start, space) > limit // 2:
            cut = space
        chunks.append((start, cut))
        start = cut
        while start < end and source[start].isspace():
            start += 1
    chunks.append((start, end))
    return chunks


def _balance(layout: _Layout, ranges: list[tuple[int, int]]) -> list[str]:
    source = layout.source
    texts: list[str] = []
    open_tags: list[tuple[str, str]] = []  # (name, the opening tag as written)
    for start, end in ranges:
        while start < end and source[start].isspace():
            start += 1
        while end > start and source[end - 1].isspace():
            end -= 1
        reopened = "".join(tag for _, tag in open_tags)
        for match in _TAG.finditer(source, start, end):
            tag = match.group()
            name_match = _TAG_NAME.match(tag)
            if name_match is None or tag.endswith("/>"):
                continue
            name = name_match.group(1).lower()
            if tag.startswith("</"):
                for depth in range(len(open_tags) - 1, -1, -1):
                    if open_tags[depth][0] == name:
                        del open_tags[depth]
                        break
            else:
                open_tags.append((name, tag))
        closing = "".join(f"</{name}>" for name, _ in reversed(open_tags))
        text = reopened + source[start:end] + closing
        if unescape(_TAG.sub("", text)).strip():
            texts.append(text)
    return texts
