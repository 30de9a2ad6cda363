"""Parse answers typed on a command line: one token per item, ``-`` for a blank."""

from __future__ import annotations

import re
from collections.abc import Sequence

from kratomwatch.core.instruments.errors import AnswerParseError

BLANK = "-"
_INTEGER = re.compile(r"[+-]?[0-9]+")


def parse_answers(tokens: Sequence[str]) -> list[int | None]:
    """Turn tokens into answers: ``"-"`` is a blank (None), an ASCII integer is that integer.

    Surrounding whitespace is ignored. Anything else (``"1.5"``, ``"x"``, ``""``) raises AnswerParseError
    naming the 1-based position and the token. Whether the integer is allowed for its item is checked by
    scoring, not here.
    """
    answers: list[int | None] = []
    for position, token in enumerate(tokens, start=1):
        text = token.strip()
        if text == BLANK:
            answers.append(None)
        elif _INTEGER.fullmatch(text):
            answers.append(int(text))
        else:
            raise AnswerParseError(position, token)
    return answers
