"""BibTeX entries as papers, for reference-manager exports.

Enough of BibTeX for those: @type{key, field = {..} or ".." or number or @string macro,
joined with #}, nested braces, () as entry delimiters, @comment and @preamble skipped.
LaTeX markup in values becomes plain text (accents, escapes, braces). Reached through
``shared.papers.parse_papers`` for ``.bib`` files; problems are row errors with lines.

Macros are expanded against a budget, checked before each piece is joined on: ``@string``
definitions that double each other grow a 700-byte file into gigabytes, so a value that
would pass :data:`MAX_VALUE_CHARS` (or a file whose values pass :data:`MAX_FILE_CHARS`)
refuses the whole file, before the string is ever built.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right

from shared.manifest import LABEL_KEYS
from shared.papers.records import FileError, Parsed, RowError
from shared.units import FIELDS

_ENTRY_HEAD = re.compile(r"@\s*([A-Za-z]+)\s*([{(])")
_ENTRY_KEY = re.compile(r"\s*([^,\s{}()]*)\s*,")
_FIELD_NAME = re.compile(r"\s*([A-Za-z][\w\-:.]*)\s*=\s*")
_BARE = re.compile(r"[\w\-:.+/]+")
_NEXT_ENTRY = re.compile(r"^\s*@", re.MULTILINE)
_CLOSING = {"{": "}", "(": ")"}
# No title or abstract comes near a million characters; the whole file's values together
# may reach 32 of them (macros repeated across entries expand legitimately, but not more).
MAX_VALUE_CHARS = 1_000_000
MAX_FILE_CHARS = 32 * MAX_VALUE_CHARS


class _Macros(dict[str, str]):
    """The @string macros defined so far, and how many characters every value has taken."""

    spent = 0


class _TooLong(ValueError):
    """A value expands past the budget; parse_bibtex names the entry, field and line."""

    def __init__(self, limit: int, field: str = "") -> None:
        super().__init__(limit)
        self.limit, self.field = limit, field


class _BibSyntax(ValueError):
    """A syntax error at ``pos``; parse_bibtex names the entry and its line."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.pos = pos


def parse_bibtex(text: str) -> Parsed:
    """Papers from BibTeX entries; an entry without a title or abstract is a row error
    naming its line and key, and a syntax error skips to the next entry."""
    out, macros, pos = Parsed(), _Macros(), 0
    starts = [0, *(m.end() for m in re.finditer("\n", text))]
    while (match := _ENTRY_HEAD.search(text, pos)) is not None:
        line, kind = bisect_right(starts, match.start()), match[1].lower()
        try:
            key, fields, pos = _bib_entry(text, match, macros)
        except _TooLong as exc:
            raise _too_long(exc, line, kind, text, match) from None
        except _BibSyntax as exc:
            found = _ENTRY_KEY.match(text, match.end())
            name = f"entry {found[1]}" if found and found[1] else f"@{kind} entry"
            out.errors.append(RowError(bisect_right(starts, exc.pos), f"{name}: {exc}"))
            resync = _NEXT_ENTRY.search(text, exc.pos + 1)
            pos = resync.start() if resync else len(text)
            continue
        if kind == "string":
            macros.update(fields)
        elif kind not in ("comment", "preamble"):
            _bib_paper(out, line, key, fields)
    return out


def _too_long(exc: _TooLong, line: int, kind: str, text: str, head: re.Match[str]) -> FileError:
    found = _ENTRY_KEY.match(text, head.end())
    where = (
        f"@string {exc.field}"
        if kind == "string"
        else (f"entry {found[1] if found and found[1] else '(no key)'}, field {exc.field}")
    )
    return FileError(
        f"line {line}: {where} expands past {exc.limit:,} characters (macros that build on "
        "each other); write the value out or shorten its @string macros, then upload again"
    )


def _bib_paper(out: Parsed, line: int, key: str, fields: dict[str, str]) -> None:
    paper = {f: latex_to_text(fields.get(f, "")) for f in FIELDS}
    missing = [f for f in FIELDS if not paper[f]]
    if missing:
        hint = "; export the entries with their abstracts" if "abstract" in missing else ""
        out.errors.append(
            RowError(line, f"entry {key or '(no key)'} has no {' or '.join(missing)}{hint}")
        )
    else:
        label = next((fields[k] for k in LABEL_KEYS if fields.get(k, "").strip()), None)
        out.add_row(line, paper, key or None, label)


def _bib_entry(text: str, head: re.Match[str], macros: _Macros) -> tuple[str, dict[str, str], int]:
    """Parse the entry that ``head`` opens; returns its key, fields and the end position."""
    kind, close, pos = head[1].lower(), _CLOSING[head[2]], head.end()
    if kind in ("comment", "preamble"):
        return "", {}, _balanced(text, head.end() - 1) + 1
    key = ""
    if kind != "string":
        found = _ENTRY_KEY.match(text, pos)
        if found is None:
            raise _BibSyntax("expected a key and a comma", pos)
        key, pos = found[1], found.end()
    fields: dict[str, str] = {}
    while True:
        pos = _skip_space(text, pos)
        if text.startswith(close, pos):
            return key, fields, pos + 1
        name = _FIELD_NAME.match(text, pos)
        if name is None:
            raise _BibSyntax(f"expected 'field = value' or {close!r}", pos)
        try:
            fields[name[1].lower()], pos = _bib_value(text, name.end(), macros)
        except _TooLong as exc:
            raise _TooLong(exc.limit, name[1]) from None
        pos = _skip_space(text, pos)
        if text.startswith(",", pos):
            pos += 1
        elif not text.startswith(close, pos):
            raise _BibSyntax(f"expected ',' or {close!r} after {name[1]}", pos)


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _bib_value(text: str, pos: int, macros: _Macros) -> tuple[str, int]:
    parts: list[str] = []
    size = 0
    while True:
        pos = _skip_space(text, pos)
        char = text[pos : pos + 1]
        if char == "{":
            end = _balanced(text, pos)
            parts.append(text[pos + 1 : end])
        elif char == '"':
            end = _quoted(text, pos)
            parts.append(text[pos + 1 : end])
        elif bare := _BARE.match(text, pos):
            end = bare.end() - 1
            parts.append(macros.get(bare[0].lower(), bare[0]))
        else:
            raise _BibSyntax("expected a value in braces or quotes", pos)
        size += len(parts[-1])  # counted before anything is joined: the join is the bomb
        if size > MAX_VALUE_CHARS:
            raise _TooLong(MAX_VALUE_CHARS)
        pos = _skip_space(text, end + 1)
        if not text.startswith("#", pos):
            macros.spent += size
            if macros.spent > MAX_FILE_CHARS:
                raise _TooLong(MAX_FILE_CHARS)
            return "".join(parts), pos
        pos += 1


def _balanced(text: str, start: int) -> int:
    """The index of the brace closing the one at ``start`` (escaped braces do not count)."""
    depth, pos, opening = 0, start, text[start]
    closing = _CLOSING[opening]
    while pos < len(text):
        char = text[pos]
        if char == "\\":
            pos += 2
            continue
        depth += (char == opening) - (char == closing)
        if depth == 0:
            return pos
        pos += 1
    raise _BibSyntax(f"a {opening!r} here is never closed: the file ends first", start)


def _quoted(text: str, start: int) -> int:
    """The closing quote of a "..." value; quotes inside braces belong to the value."""
    depth, pos = 0, start + 1
    while pos < len(text):
        char = text[pos]
        if char == "\\":
            pos += 2
            continue
        if char == '"' and depth == 0:
            return pos
        depth += (char == "{") - (char == "}")
        pos += 1
    raise _BibSyntax("a '\"' here is never closed: the file ends first", start)


_ACCENTS = {'"': "\u0308", "'": "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303",
            "=": "\u0304", ".": "\u0307", "u": "\u0306", "v": "\u030c", "H": "\u030b",
            "c": "\u0327", "k": "\u0328", "r": "\u030a"}  # fmt: skip
# \"o, \"{o}, \v{c}, \v c; a letter-named accent needs a space or brace after it.
_ACCENT = re.compile(r"""\\(["'`^~=.]|[uvHckr](?=[\s{]))\s*(?:\{\s*([A-Za-z])\s*\}|([A-Za-z]))""")
_LETTERS = {"ss": "ß", "o": "ø", "O": "Ø", "ae": "æ", "AE": "Æ", "aa": "å", "AA": "Å",
            "l": "ł", "L": "Ł", "i": "i"}  # fmt: skip
_NAMED_LETTER = re.compile(r"\\(ss|o|O|ae|AE|aa|AA|l|L|i)(?![A-Za-z])(?:\{\})?")
_ESCAPED = re.compile(r"\\([&%$#_{}])")
_COMMAND = re.compile(r"\\([A-Za-z]+)\*?\s*")


def latex_to_text(value: str) -> str:
    """Plain text from a BibTeX value: accents composed, escapes kept, markup dropped."""
    text = _NAMED_LETTER.sub(lambda m: _LETTERS[m[1]], value)  # first: \\'{\\i} is an accented i
    text = _ACCENT.sub(_compose, text)
    # Escaped specials survive the brace and dollar stripping below as private-use stand-ins.
    text = _ESCAPED.sub(lambda m: chr(0xE000 + ord(m[1])), text)
    text = _COMMAND.sub(_greek_or_nothing, text).replace("---", "\u2014").replace("--", "\u2013")
    text = re.sub(r"[{}$]", "", text).replace("~", " ")
    text = re.sub(r"[\ue000-\ue07f]", lambda m: chr(ord(m[0]) - 0xE000), text)
    return unicodedata.normalize("NFC", " ".join(text.split()))


def _compose(match: re.Match[str]) -> str:
    return (match[2] or match[3]) + _ACCENTS[match[1]]


def _greek_or_nothing(match: re.Match[str]) -> str:
    """A Greek letter's command (alpha, Gamma) becomes the letter; other markup is dropped."""
    case = "CAPITAL" if match[1][0].isupper() else "SMALL"
    try:
        return unicodedata.lookup(f"GREEK {case} LETTER {match[1].upper()}")
    except KeyError:
        return ""
