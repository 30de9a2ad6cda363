"""Input to the claim checker: bytes or text in, plain text out, with the stated limits (docs/claims.md).

Bad input raises ``InputError`` naming the field: empty text, binary data (NUL bytes, not UTF-8), more than
:data:`MAX_BYTES`, and text that does not look like English: fewer than :data:`MIN_FUNCTION_SHARE` of its words are
common English function words (the, and, of, is, ...). That test needs :data:`MIN_WORDS_FOR_LANGUAGE` words; shorter
texts are not tested. It says only "does not look like English"; it never guesses which language it is.
HTML is reduced to its text with the standard library's ``html.parser`` (scripts and styles dropped, block
elements end a line); offsets in the findings point into that text, which is what the checker shows.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from kratomwatch.core.errors import InputError

MAX_BYTES = 200_000
MIN_WORDS_FOR_LANGUAGE = 12
MIN_FUNCTION_SHARE = 0.15
FUNCTION_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
    ]
)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
_BLOCK = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "td",
        "th",
        "tr",
        "ul",
        "title",
    ]
)
_HTML_HINT = re.compile(r"<\s*(html|body|p|div|h[1-6]|article|!doctype|span|br|li)\b", re.IGNORECASE)


class _TextOf(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "noscript", "template"):
            self._skip += 1
        elif tag in _BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "noscript", "template"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The text a reader sees: tags removed, entities decoded, blocks separated by a blank line."""
    parser = _TextOf()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def looks_like_html(text: str) -> bool:
    return bool(_HTML_HINT.search(text[:5000]))


def decode(data: bytes, field: str = "file") -> str:
    """UTF-8 text from bytes, refusing binary and oversized input."""
    if len(data) > MAX_BYTES:
        raise InputError(field, f"{len(data)} bytes", f"the text is longer than the limit of {MAX_BYTES:,} bytes")
    if b"\x00" in data:
        raise InputError(field, "NUL byte", "this is a binary file, not text (it contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as problem:
        raise InputError(
            field, f"byte {problem.start}", "this is not UTF-8 text (a binary file, or text in another encoding)"
        ) from None


def prepare(text: str, field: str = "text") -> str:
    """Checked plain text: HTML reduced to its text; ``InputError`` for empty, binary, huge or non-English text."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise InputError(field, f"{len(text)} characters", f"the text is longer than the limit of {MAX_BYTES:,} bytes")
    if "\x00" in text:
        raise InputError(field, "NUL byte", "this is binary data, not text (it contains NUL bytes)")
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # browsers send CRLF; offsets are into this text
    if looks_like_html(text):
        text = html_to_text(text)
    if not text.strip():
        raise InputError(field, "", "there is no text to check")
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:
        raise InputError(field, text[:40], "there are no words to check")
    if len(words) >= MIN_WORDS_FOR_LANGUAGE:
        share = sum(1 for w in words if w in FUNCTION_WORDS) / len(words)
        if share < MIN_FUNCTION_SHARE:
            raise InputError(
                field,
                f"{share:.0%} common English words",
                f"this does not look like English text (only {share:.0%} of its words are common English words such "
                f"as 'the', 'and', 'of'; at least {MIN_FUNCTION_SHARE:.0%} expected). The checker reads English only.",
                code="not_english",
            )
    return text
