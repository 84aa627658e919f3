"""Citations and what an answer may carry.

- `check_citations`: every `[n]` must point at a source that was given.
- `verify_answer`: every cited `[n]` must share the sentence's key terms (and its numbers) with
  passage n, or the citation is dropped; a sentence that states something no given passage
  supports (no valid citation left and its words and numbers not in any passage) is dropped. Both
  are logged by the caller. An injected or careless model can therefore not lend a manual's
  authority to a claim the manual does not make.
- `strip_markup` / `MarkupFilter`: no image, embedded frame or HTML element survives in the answer
  text, streamed or final: a markdown image to a remote host would send the reader's browser (and
  the question) to that host. Link syntax keeps its text, not its target. The browser sanitises
  rendering too (defence in depth).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from techdocs_app.providers.base import SourcePassage
from techdocs_app.rag.units import strip_conversions
from techdocs_app.text.words import terms

_CITATION_RE = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")


def check_citations(answer: str, n_sources: int) -> tuple[str, list[int], list[int]]:
    """(answer with citations to missing sources removed, valid cited numbers, dropped numbers)."""
    valid: list[int] = []
    dropped: list[int] = []

    def _fix(match: re.Match[str]) -> str:
        keep: list[str] = []
        for part in re.split(r"[,;]", match.group(1)):
            number = int(part.strip())
            if 1 <= number <= n_sources:
                keep.append(str(number))
                if number not in valid:
                    valid.append(number)
            else:
                dropped.append(number)
        return "".join(f"[{n}]" for n in keep)

    cleaned = _CITATION_RE.sub(_fix, answer)
    if dropped:
        cleaned = _tidy(cleaned)
    return cleaned, valid, dropped


def _tidy(text: str) -> str:
    """The space a removed citation leaves before punctuation ("150 mA [7]." → "150 mA ." →
    "150 mA."); only before punctuation that ends a clause, so quoted text such as "in .lic
    format" or "a .STL file" stays as the manual wrote it."""
    text = re.sub(r"[ \t]+([.,;:])(?=[\s)\]\"'”’*_]|$)", r"\1", text)
    return re.sub(r"[ \t]{2,}", " ", text)


# --- markup an answer must not carry ----------------------------------------------------------------

_IMAGE_MD = re.compile(r"!\[([^\]\n]{0,300})\]\s*(?:\([^)\n]{0,2000}\)|\[[^\]\n]{0,200}\])")
_LINK_MD = re.compile(r"(?<!!)\[([^\]\n]{1,300})\]\((?:[^)\s]{1,2000})(?:\s+\"[^\"\n]*\")?\)")
_LINK_REF = re.compile(r"^\s{0,3}\[[^\]\n]+\]:\s*\S+.*$", re.MULTILINE)
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]{0,2000})?/?>")
_AUTOLINK = re.compile(r"<(?:https?|ftp|data|javascript):[^>\s]{0,2000}>", re.IGNORECASE)


def strip_markup(text: str) -> str:
    """The answer without images (markdown or HTML), HTML elements, autolinks and link targets
    (a link keeps its text). Repeated until nothing changes: removing a tag nested in another's
    attribute can complete the outer one."""
    for _ in range(5):
        before = text
        text = _IMAGE_MD.sub("", text)
        text = _LINK_MD.sub(lambda m: m.group(1), text)
        text = _LINK_REF.sub("", text)
        text = _AUTOLINK.sub("", text)
        text = _HTML_TAG.sub("", text)
        if text == before:
            break
    return text


class MarkupFilter:
    """`strip_markup` for text that arrives in pieces: anything after an unclosed '![', '[', or
    '<' is held back until it closes (or the stream ends), so no part of an image or tag is ever
    streamed to a browser."""

    _OPEN = re.compile(r"!$|!?\[[^\]\n]*$|!?\[[^\]\n]*\]\([^)\n]*$|<[^\n]*$")
    MAX_HELD = 4000

    def __init__(self) -> None:
        self._held = ""

    def feed(self, piece: str) -> str:
        text = self._held + piece
        match = self._OPEN.search(text)
        if match is not None and len(text) - match.start() < self.MAX_HELD:
            self._held = text[match.start() :]
            text = text[: match.start()]
        else:
            self._held = ""
        return strip_markup(text)

    def flush(self) -> str:
        text, self._held = self._held, ""
        return strip_markup(text)


# --- do the cited passages support the sentence? ----------------------------------------------------

_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)?")
_SENTENCE_END = re.compile(r"[.!?](?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])*(?=\s+[A-Z0-9\"'(])")


def _sentences(line: str) -> list[str]:
    """A line's sentences, each keeping the citations that follow its full stop."""
    out: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(line):
        out.append(line[start : match.end()])
        start = match.end()
    out.append(line[start:])
    return [s for s in out if s.strip()]


MIN_SHARED_SHARE = 0.4
"""A cited passage must hold at least this share of the sentence's key terms (or one of its
numbers and one term) to be cited for it."""
CLAIM_SHARED_SHARE = 0.5
"""A sentence is supported when its cited passages (or, without a citation, the given passages)
hold all its numbers and at least this share of its key terms."""


@dataclass
class VerifiedAnswer:
    text: str
    citations: list[int]
    dropped_citations: list[int] = field(default_factory=list)
    """Numbers cited next to a sentence their passage does not support."""
    dropped_claims: list[str] = field(default_factory=list)
    """Sentences no given passage supports (removed)."""


def _key_terms(text: str) -> set[str]:
    return {t for t in terms(_CITATION_RE.sub(" ", text)) if not t.isdigit() and len(t) > 1}


def _canonical_number(number: str) -> str:
    """'13.0' and '13' are one number, '12,6' is '12.6'."""
    number = number.replace(",", ".")
    if "." in number:
        number = number.rstrip("0").rstrip(".")
    return number.lstrip("0") or "0"


def _numbers(text: str) -> set[str]:
    return {_canonical_number(n) for n in _NUMBER.findall(_CITATION_RE.sub(" ", text))}


@dataclass(frozen=True)
class _Passage:
    terms: frozenset[str]
    numbers: frozenset[str]


def _passage(source: SourcePassage) -> _Passage:
    text = f"{source.document_title} {source.heading} {source.text}"
    return _Passage(frozenset(_key_terms(text)), frozenset(_numbers(text)))


def _relevant(passage: _Passage, sentence_terms: set[str], sentence_numbers: set[str]) -> bool:
    """A cited passage must share the sentence's key terms (or one of its numbers and a term)."""
    if not sentence_terms:
        return bool(sentence_numbers & passage.numbers) or not sentence_numbers
    shared = len(sentence_terms & passage.terms)
    if shared >= max(1, MIN_SHARED_SHARE * len(sentence_terms)):
        return True
    return shared >= 1 and bool(sentence_numbers & passage.numbers)


def _supported(passages: Sequence[_Passage], sentence_terms: set[str], numbers: set[str]) -> bool:
    """Whether these passages together hold the sentence's numbers and most of its key terms."""
    all_numbers = set().union(*(p.numbers for p in passages)) if passages else set()
    all_terms = set().union(*(p.terms for p in passages)) if passages else set()
    if not numbers <= all_numbers:
        return False
    if not sentence_terms:
        return True
    return len(sentence_terms & all_terms) >= max(1, CLAIM_SHARED_SHARE * len(sentence_terms))


def _is_structure(line: str) -> bool:
    """Table rules, headings and list lead-ins carry no claim of their own."""
    stripped = line.strip()
    return (
        not stripped
        or bool(re.fullmatch(r"\|?[\s:|-]+\|?", stripped))
        or (stripped.endswith(":") and len(stripped.split()) <= 12)
        or stripped.startswith("#")
    )


_META = re.compile(
    r"(?i)\b(?:excerpts?|manuals?|passages?|sources?)\b|^i (?:could|can)(?:n['’]t| not)\b"
)
"""Sentences about the excerpts themselves ('The excerpts do not give the MTBF.') claim nothing
about the equipment."""


def _cited_passages(
    sentence: str, passages: dict[int, _Passage], terms_: set[str], numbers: set[str]
) -> tuple[str, list[int], list[int]]:
    """(sentence with irrelevant citations removed, kept numbers, dropped numbers)."""
    valid: list[int] = []
    dropped: list[int] = []

    def _keep(match: re.Match[str]) -> str:
        keep: list[str] = []
        for part in re.split(r"[,;]", match.group(1)):
            number = int(part.strip())
            passage = passages.get(number)
            if passage is not None and _relevant(passage, terms_, numbers):
                keep.append(f"[{number}]")
                valid.append(number)
            else:
                dropped.append(number)
        return "".join(keep)

    return _CITATION_RE.sub(_keep, sentence), valid, dropped


def verify_answer(answer: str, sources: Sequence[SourcePassage]) -> VerifiedAnswer:
    """Keep the citations and sentences the passages support (see the module docstring)."""
    passages = {s.number: _passage(s) for s in sources}
    dropped_citations: list[int] = []
    dropped_claims: list[str] = []
    cited: list[int] = []
    lines_out: list[str] = []
    for line in answer.split("\n"):
        if _is_structure(line):
            lines_out.append(line)
            continue
        table_row = line.lstrip().startswith("|")
        kept: list[str] = []
        for sentence in [line] if table_row else _sentences(line):
            plain = strip_conversions(sentence)
            sentence_terms = _key_terms(plain)
            sentence_numbers = _numbers(plain)

            checked, valid, dropped = _cited_passages(
                sentence, passages, sentence_terms, sentence_numbers
            )
            dropped_citations.extend(dropped)
            claims = bool(sentence_numbers) or len(sentence_terms) >= 2
            if valid and not _supported(
                [passages[n] for n in valid], sentence_terms, sentence_numbers
            ):
                # The cited passages do not hold what the sentence says (a number of its own).
                dropped_citations.extend(valid)
                checked = _CITATION_RE.sub("", checked)
                valid = []
            if (
                claims
                and not valid
                and not _META.search(plain)
                and not _supported(list(passages.values()), sentence_terms, sentence_numbers)
            ):
                dropped_claims.append(sentence.strip())
                continue
            for number in valid:
                if number not in cited:
                    cited.append(number)
            kept.append(_tidy(checked).strip())
        if any(kept):
            lead = line[: len(line) - len(line.lstrip())]
            lines_out.append(lead + _tidy(" ".join(k for k in kept if k)))
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines_out)).strip()
    return VerifiedAnswer(text, cited, dropped_citations, dropped_claims)
