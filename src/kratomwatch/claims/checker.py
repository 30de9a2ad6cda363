"""Check a text: split it into sentences (spaCy's blank English pipeline and rule-based sentencizer), find what each
sentence about kratom asserts with the lexicon's rule matchers and ConText (``core.claims.context``), and rule on it
against the evidence library (``core.claims.verdict``). docs/claims.md says what it can and cannot judge.

The pipeline and the matcher are built once per process (:func:`engine`). No model is downloaded.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import spacy
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc
from spacy.tokens import Span as SpacySpan

from kratomwatch.claims.text import prepare
from kratomwatch.core.claims.context import Span, Trigger, live_triggers, modifiers, reaches
from kratomwatch.core.claims.verdict import VERDICTS, Assertion, Library, Strength, rule
from kratomwatch.knowledge.claim_lexicon import ClaimLexicon, claim_lexicon
from kratomwatch.knowledge.loader import evidence_claims, jurisdictions
from kratomwatch.knowledge.schemas import Jurisdiction

#: label groups: terms (one kept where they overlap: the longest), and the rest
_TERM_PREFIXES = ("CLAIM:", "SELF:", "SAFE", "HARM", "RESP", "FACT_T:", "FACT_F:", "LEGAL")
_BLOCK_START = re.compile(r"\n[ \t]*\n|\n(?=[ \t]*(?:#|[-*+>|]\s|\d+[.)]\s))")
_HEADING = re.compile(r"^[ \t]*#[^\n]*$", re.MULTILINE)


@dataclass(frozen=True)
class Fact:
    id: str
    statement: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Engine:
    nlp: Language
    matcher: Matcher
    phrases: PhraseMatcher
    lexicon: ClaimLexicon
    library: Library
    sources: dict[str, tuple[str, ...]]
    facts: dict[str, Fact]
    #: trigger label -> (category, direction)
    triggers: dict[str, tuple[str, str]]


_STEM_PREFIX = "kw-stem:"


@dataclass(frozen=True)
class _Builder:
    """The two matchers being filled: whole phrases go to the ``PhraseMatcher`` (hash lookups on lower-case
    tokens); phrases with a wildcard word go to the ``Matcher`` (its ``NORM`` set to the stem by
    :func:`_stem_component`, so no regular expression runs per token)."""

    nlp: Language
    matcher: Matcher
    phrases: PhraseMatcher


def _token_pattern(nlp: Language, phrase: str) -> list[dict[str, Any]]:
    """Token pattern of a phrase: lower-case words; a word ending in ``*`` matches any word starting with it."""
    pattern: list[dict[str, Any]] = []
    for word in phrase.split():
        if word.endswith("*") and len(word) > 1:
            pattern.append({"NORM": _STEM_PREFIX + word[:-1].lower()})
        else:
            pattern.extend({"LOWER": t.text.lower()} for t in nlp.make_doc(word))
    return pattern


def _add(builder: _Builder, label: str, phrases: Iterable[str]) -> None:
    wild = [p for p in phrases if p.strip() and any(w.endswith("*") and len(w) > 1 for w in p.split())]
    whole = [p for p in phrases if p.strip() and p not in wild]
    if wild:
        builder.matcher.add(label, [_token_pattern(builder.nlp, p) for p in wild])
    if whole:
        builder.phrases.add(label, [builder.nlp.make_doc(p) for p in whole])


def _stems(lexicon: ClaimLexicon) -> tuple[str, ...]:
    """Every wildcard stem of the lexicon, longest first."""
    phrases = [
        *lexicon.effect_cues,
        *(t.phrase for t in lexicon.triggers),
        *(p for c in lexicon.claims for p in (*c.terms, *c.self_asserting)),
        *lexicon.safe_phrases,
        *lexicon.harm_phrases,
        *lexicon.respiratory_phrases,
        *lexicon.recommendation_phrases,
        *(p for f in lexicon.facts for p in (*f.true_phrases, *f.false_phrases)),
    ]
    stems = {w[:-1].lower() for p in phrases for w in p.split() if w.endswith("*") and len(w) > 1}
    return tuple(sorted(stems, key=len, reverse=True))


def _stem_component(stems: tuple[str, ...]) -> Any:
    def mark_stems(doc: Doc) -> Doc:
        for token in doc:
            lower = token.lower_
            for stem in stems:
                if lower.startswith(stem):
                    token.norm_ = _STEM_PREFIX + stem
                    break
        return doc

    return mark_stems


def _current_status(record: Jurisdiction, today: dt.date) -> tuple[str, tuple[str, ...]]:
    in_force = [s for s in record.statuses if s.effective_from is None or s.effective_from <= today]
    latest = max(in_force, key=lambda s: s.effective_from or dt.date.min) if in_force else record.statuses[0]
    return latest.status, latest.sources


def _legal_facts(builder: _Builder, lexicon: ClaimLexicon) -> dict[str, Fact]:
    """Legal-status facts from jurisdictions.yaml: each jurisdiction's status in force today; the states that ban."""
    nlp, matcher = builder.nlp, builder.matcher
    today = dt.datetime.now(dt.UTC).date()
    words = lexicon.legal
    facts: dict[str, Fact] = {}
    banned_states: list[tuple[str, tuple[str, ...]]] = []
    for record in jurisdictions():
        status, sources = _current_status(record, today)
        name = re.sub(r"\s*\(.*\)", "", record.name).strip()
        if record.code == "US":
            facts["legal_us_federal"] = Fact(
                "legal_us_federal",
                "Kratom and its alkaloids are not controlled under US federal law (jurisdictions.yaml, status "
                f"'{status}'; not an FDA-approved drug).",
                sources,
            )
            continue
        if status == "banned" and record.code.startswith("US-"):
            banned_states.append((name, sources))
        if status not in ("banned", "legal", "regulated"):
            continue
        said = "banned" if status == "banned" else "legal"
        facts[f"legal_{record.code}"] = Fact(
            f"legal_{record.code}", f"In {name}, kratom is recorded as {status} (jurisdictions.yaml).", sources
        )
        name_tokens = [{"LOWER": t.text.lower()} for t in nlp.make_doc(name)]
        for asserted, vocabulary in (("banned", words.banned_words), ("legal", words.legal_words)):
            agrees = "T" if asserted == said else "F"
            matcher.add(
                f"LEGAL:{agrees}:legal_{record.code}",
                [[{"LOWER": {"IN": list(vocabulary)}}, {"LOWER": "in"}, *name_tokens]],
            )
        agrees = "T" if said == "banned" else "F"
        matcher.add(f"LEGAL:{agrees}:legal_{record.code}", [[*name_tokens, {"LOWER": {"IN": list(words.ban_verbs)}}]])
    if banned_states:
        names = ", ".join(n for n, _ in banned_states)
        sources = tuple(dict.fromkeys(s for _, group in banned_states for s in group[:1]))
        facts["legal_all_states"] = Fact(
            "legal_all_states",
            f"Kratom is not legal in every US state: jurisdictions.yaml records bans in {names}.",
            sources,
        )
        _add(builder, "LEGAL:F:legal_all_states", words.all_states_legal)
    if "legal_us_federal" in facts:
        _add(builder, "LEGAL:F:legal_us_federal", words.federal_banned)
        _add(builder, "LEGAL:T:legal_us_federal", words.federal_legal)
    return facts


def _mark_blocks(doc: Doc) -> Doc:
    """A blank line, a Markdown heading, list item or quote starts a new sentence (the sentencizer sees only
    punctuation)."""
    starts = {m.end() for m in _BLOCK_START.finditer(doc.text) if m.end() > 0}
    starts |= {m.end() + 1 for m in _HEADING.finditer(doc.text)}
    for token in doc[1:]:
        if token.idx in starts or (doc[token.i - 1].is_space and "\n\n" in doc[token.i - 1].text):
            token.is_sent_start = True
    return doc


@functools.cache
def engine() -> Engine:
    """The one pipeline and matcher of this process, built from the lexicon and the knowledge files."""
    lexicon = claim_lexicon()
    if not Language.has_factory("kratomwatch_blocks"):
        Language.component("kratomwatch_blocks", func=_mark_blocks)
    if not Language.has_factory("kratomwatch_stems"):
        Language.component("kratomwatch_stems", func=_stem_component(_stems(lexicon)))
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("kratomwatch_blocks")
    nlp.add_pipe("kratomwatch_stems")
    builder = _Builder(nlp, Matcher(nlp.vocab), PhraseMatcher(nlp.vocab, attr="LOWER"))
    _add(builder, "SUBJ", lexicon.subjects)
    _add(builder, "ANA", lexicon.anaphora)
    _add(builder, "EFFECT", lexicon.effect_cues)
    _add(builder, "TERMINATOR", lexicon.terminators)
    triggers: dict[str, tuple[str, str]] = {}
    for index, trigger in enumerate(lexicon.triggers):
        label = f"TRIG:{index}"
        triggers[label] = (trigger.category, trigger.direction)
        _add(builder, label, [trigger.phrase])
    for claim in lexicon.claims:
        _add(builder, f"CLAIM:{claim.id}", claim.terms)
        _add(builder, f"SELF:{claim.id}", claim.self_asserting)
    _add(builder, "SAFE", lexicon.safe_phrases)
    _add(builder, "HARM", lexicon.harm_phrases)
    _add(builder, "RESP", lexicon.respiratory_phrases)
    _add(builder, "RECO", lexicon.recommendation_phrases)
    facts = {f.id: Fact(f.id, f.statement, f.sources) for f in lexicon.facts}
    for fact in lexicon.facts:
        _add(builder, f"FACT_T:{fact.id}", fact.true_phrases)
        _add(builder, f"FACT_F:{fact.id}", fact.false_phrases)
    facts.update(_legal_facts(builder, lexicon))
    records = evidence_claims()
    library = Library(
        grades={r.id: r.certainty for r in records},
        wording={r.id: r.claim for r in records},
        facts={f.id: f.statement for f in facts.values()},
    )
    sources = {r.id: r.sources for r in records}
    return Engine(nlp, builder.matcher, builder.phrases, lexicon, library, sources, facts, triggers)


@dataclass(frozen=True)
class _Match:
    label: str
    span: Span


def _longest(matches: list[_Match]) -> list[_Match]:
    """Of overlapping term matches keep the longest (then the first), as spaCy's ``filter_spans`` does."""
    kept: list[_Match] = []
    for m in sorted(matches, key=lambda m: (-(m.span.end - m.span.start), m.span.start)):
        if not any(m.span.overlaps(k.span) for k in kept):
            kept.append(m)
    return sorted(kept, key=lambda m: m.span.start)


class _Sentence:
    """One sentence's matches and its ConText triggers, positions relative to the sentence."""

    def __init__(self, eng: Engine, sent: SpacySpan, raw: list[tuple[str, int, int]]) -> None:
        offset = sent.start
        self.length = len(sent)
        found = [_Match(label, Span(s - offset, e - offset)) for label, s, e in raw]
        self.labels = {m.label for m in found}
        self.terms = _longest([m for m in found if m.label.startswith(_TERM_PREFIXES)])
        self.effects = [m.span for m in found if m.label == "EFFECT"]
        self.reco = [m.span for m in found if m.label == "RECO"]
        self.terminators = [m.span for m in found if m.label == "TERMINATOR"]
        pseudo = [m.span for m in found if m.label.startswith("TRIG:") and eng.triggers[m.label][0] == "PSEUDO"]
        triggers = [
            Trigger(eng.triggers[m.label][0], eng.triggers[m.label][1], m.span)  # type: ignore[arg-type]
            for m in found
            if m.label.startswith("TRIG:") and eng.triggers[m.label][0] != "PSEUDO"
        ]
        self.triggers = live_triggers(triggers, pseudo)

    def negated(self, target: Span) -> bool:
        return any(t.category == "NEGATED" for t in self._mods(target))

    def hedged(self, target: Span) -> bool:
        return any(t.category == "HEDGED" for t in self._mods(target))

    def _mods(self, target: Span) -> tuple[Trigger, ...]:
        return modifiers(target, self.triggers, self.terminators, self.length)

    def strength(self, target: Span) -> Strength:
        """hedged if a hedge or a negated strength word ("not proven") reaches the target; strong if an
        un-negated strength word does; plain otherwise."""
        mods = self._mods(target)
        strong = [t for t in mods if t.category == "STRONG"]
        negations = [t for t in self.triggers if t.category == "NEGATED"]
        live_strong = [
            s for s in strong if not any(reaches(n, s.span, self.terminators, self.length) for n in negations)
        ]
        if any(t.category == "HEDGED" for t in mods) or len(live_strong) < len(strong):
            return "hedged"
        return "strong" if live_strong else "plain"


def _nearest(spans: list[Span], target: Span) -> Span | None:
    if not spans:
        return None
    return min(spans, key=lambda s: min(abs(s.start - target.end), abs(target.start - s.end)))


def _join(a: Span, b: Span) -> Span:
    return Span(min(a.start, b.start), max(a.end, b.end))


def _fact(s: _Sentence, kind: str, ident: str, span: Span) -> Assertion | None:
    """A checked-fact phrase, read with its negation; a hedged or reported contradiction ("vendors claim it is
    non-addictive") is not asserted."""
    if kind == "LEGAL":
        polarity, _, ident = ident.partition(":")
        true_phrase = polarity == "T"
    else:
        true_phrase = kind == "FACT_T"
    negated = s.negated(span)
    if s.hedged(span) and true_phrase == negated:
        return None
    return Assertion("fact", ident, s.strength(span), agrees=true_phrase != negated)


def _assertions(eng: Engine, s: _Sentence) -> list[Assertion]:
    out: list[Assertion] = []
    safety = eng.lexicon.safety_claim
    benefit_claims: list[str] = []
    for term in s.terms:
        kind, _, ident = term.label.partition(":")
        if kind == "CLAIM":
            effect = _nearest(s.effects, term.span)
            if effect is None:
                continue
            target = _join(effect, term.span)
            out.append(Assertion("benefit", ident, s.strength(target), negated=s.negated(target)))
            benefit_claims.append(ident)
        elif kind == "SELF":
            out.append(Assertion("benefit", ident, s.strength(term.span), negated=s.negated(term.span)))
            benefit_claims.append(ident)
        elif kind == "SAFE":
            if s.negated(term.span):
                out.append(Assertion("harm", safety, s.strength(term.span)))
            else:
                out.append(Assertion("safety", safety, s.strength(term.span)))
        elif kind in ("HARM", "RESP"):
            if not s.negated(term.span):
                out.append(Assertion("harm", safety, s.strength(term.span)))
            elif kind == "RESP":
                strength = s.strength(term.span)
                out.append(Assertion("benefit", "respiratory_depression_ceiling", strength))
            else:
                hedged = s.hedged(term.span)
                out.append(Assertion("safety", safety, "hedged" if hedged else "strong"))
        elif kind in ("FACT_T", "FACT_F", "LEGAL"):
            fact = _fact(s, kind, ident, term.span)
            if fact is not None:
                out.append(fact)
    named = benefit_claims + [t.label.partition(":")[2] for t in s.terms if t.label.startswith("CLAIM:")]
    for span in s.reco:
        if not s.negated(span) and not s.hedged(span):
            claim = named[0] if named else "use_in_treatment"
            out.append(Assertion("recommendation", claim, s.strength(span)))
    return [a for a in out if a.kind != "safety"] + [
        Assertion("benefit", a.claim, a.strength) for a in out if a.kind == "safety"
    ]


def _finding(eng: Engine, sent: SpacySpan, assertions: list[Assertion]) -> dict[str, Any] | None:
    ruling = rule(assertions, eng.library)
    if ruling is None:
        return None
    text = sent.text.strip()
    start = sent.start_char + (len(sent.text) - len(sent.text.lstrip()))
    if ruling.claim in eng.facts:
        fact = eng.facts[ruling.claim]
        grade: str | None = "fact"
        sources: tuple[str, ...] = fact.sources
    else:
        grade = eng.library.grades.get(ruling.claim)
        sources = eng.sources.get(ruling.claim, ())
    if ruling.verdict == "unsupported_recommendation" and "fda_approval" in eng.facts:
        sources = tuple(dict.fromkeys((*sources, *eng.facts["fda_approval"].sources)))
    return {
        "sentence": text,
        "start": start,
        "end": start + len(text),
        "claim": ruling.claim,
        "asserted_strength": ruling.strength,
        "verdict": ruling.verdict,
        "grade": grade,
        "reason": ruling.reason,
        "sources": list(sources),
    }


def check_text(text: str) -> dict[str, Any]:
    """The report on already prepared text: ``{"findings": [...], "summary": {...}}`` (docs/claims.md)."""
    eng = engine()
    doc = eng.nlp(text)
    by_sentence: dict[int, list[tuple[str, int, int]]] = {}
    sentences = list(doc.sents)
    starts = [s.start for s in sentences]
    for match_id, start, end in [*eng.matcher(doc), *eng.phrases(doc)]:
        label = eng.nlp.vocab.strings[match_id]
        index = _sentence_of(starts, start)
        if end <= sentences[index].end:
            by_sentence.setdefault(index, []).append((label, start, end))
    findings: list[dict[str, Any]] = []
    about = 0
    previous_about = False
    counted = 0
    for index, sent in enumerate(sentences):
        if not sent.text.strip():
            continue
        counted += 1
        raw = by_sentence.get(index, [])
        labels = {label for label, _, _ in raw}
        is_about = "SUBJ" in labels or (previous_about and "ANA" in labels)
        previous_about = is_about
        if not is_about:
            continue
        about += 1
        finding = _finding(eng, sent, _assertions(eng, _Sentence(eng, sent, raw)))
        if finding is not None:
            findings.append(finding)
    by_verdict = {v: sum(1 for f in findings if f["verdict"] == v) for v in VERDICTS}
    summary = {
        "sentences": counted,
        "sentences_about_kratom": about,
        "findings": len(findings),
        "flagged": sum(n for v, n in by_verdict.items() if v != "supported"),
        "by_verdict": by_verdict,
    }
    return {"findings": findings, "summary": summary}


def _sentence_of(starts: list[int], token: int) -> int:
    low, high = 0, len(starts) - 1
    while low < high:
        mid = (low + high + 1) // 2
        if starts[mid] <= token:
            low = mid
        else:
            high = mid - 1
    return low


def check(text: str, field: str = "text") -> dict[str, Any]:
    """Validate and check: the one entry point of the CLI, the API and the page."""
    prepared = prepare(text, field)
    report = check_text(prepared)
    report["text"] = prepared
    return report
