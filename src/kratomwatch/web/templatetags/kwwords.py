"""Stored codes in words on the page (``{{ code|words }}``, ``{{ codes|words_list }}``); see :func:`forms.words`."""

from __future__ import annotations

from collections.abc import Collection

from django import template

from kratomwatch.web import forms

register = template.Library()


@register.filter
def words(code: str) -> str:
    return forms.words(str(code))


@register.filter
def words_list(codes: Collection[str]) -> str:
    return forms.words_list([str(c) for c in codes])


@register.filter
def rule_words(rule_id: str) -> str:
    return forms.rule_words(str(rule_id))
