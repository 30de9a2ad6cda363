"""parse_answers: '-' is a blank, integers are integers, anything else is a typed error."""

from __future__ import annotations

import pytest

from kratomwatch.core.instruments import AnswerParseError, get, parse_answers, score


def test_blank_and_integers() -> None:
    assert parse_answers(["1", "-", " 3 ", "0", "+2", "-1"]) == [1, None, 3, 0, 2, -1]
    assert parse_answers([]) == []


@pytest.mark.parametrize(
    ("tokens", "position", "token"),
    [(["1", "x"], 2, "x"), (["1.5"], 1, "1.5"), (["2", "3", ""], 3, ""), (["--"], 1, "--"), (["٣"], 1, "٣")],
)
def test_bad_tokens_name_position_and_token(tokens: list[str], position: int, token: str) -> None:
    with pytest.raises(AnswerParseError) as caught:
        parse_answers(tokens)
    assert (caught.value.position, caught.value.token) == (position, token)
    assert f"position {position}" in str(caught.value) and repr(token) in str(caught.value)


def test_parsed_cli_input_scores() -> None:
    result = score(get("phq9"), parse_answers(["1", "1", "1", "1", "1", "1", "1", "1", "0"]))
    assert result.total == 8
    result = score(get("bpi_sf"), parse_answers(["8", "2", "5", "4", "3", "-", "5", "-", "7", "-", "9"]))
    assert result.scale("interference").value == 6.0 and result.scale("interference").prorated
