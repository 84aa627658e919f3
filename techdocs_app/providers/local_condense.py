"""The offline default condenser: turns a follow-up into a standalone search query.

A question is a follow-up when it leans on the conversation: it opens with "and"/"what about",
refers back ("it", "its", "they", "that one", "… then?", "… instead?"), is very short, or names no
subject (no model name, part number or proper noun) while the previous question did. Standalone
questions come back unchanged.

The rewrite carries the previous standalone query's subject (the run of words around its model
name or part number, e.g. "R11 receiver", "TS2017-S31C-SO") into the question — replacing "it"/"its"
when there is one — and, for very short or unresolved questions, its other noun phrases too:
  "Where does it assert and clear LOS?"  ->  "Where does the TS2017-S31C-SO assert and clear LOS?"
  "And once the noise clears?"  ->  "Once the noise clears? (R11, Contact ID code, high RF noise, …)"
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from techdocs_app.providers.base import Turn
from techdocs_app.text.words import STOPWORDS, compact, terms

_LEAD = re.compile(
    r"^\s*(?:(?:and|but|also|so|ok(?:ay)?|then)\b[\s,]*)?"
    r"(?:(?:what|how)\s+about|what\s+if|same\s+(?:for|with)|and)?\b[\s,]*",
    re.I,
)
_CONNECTOR = re.compile(r"^\s*(and|but|also|so|then|what about|how about|what if|same for)\b", re.I)
_STRONG_REFERENCE = re.compile(
    r"\b(it|its|it's|they|them|their|theirs|those|these|that one|this one|the same|"
    r"once connected|instead|then|either|both|the other|another one)\b",
    re.I,
)
_TRAILING_THAT = re.compile(r"\b(that|this)\s*(\?|$|is|does|do|was|mean|means|work)", re.I)
_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[.,:/+\-'’][A-Za-z0-9]+)*[+\-]?")
_IDENT = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9]+(?:[\-/.][A-Za-z0-9]+)*[+\-]?$")
_FILLER = frozenset(
    """indicate indicates mean means supposed know find like look happen happens work works go
    goes come comes give gives put take make sure right wrong kind sort lot bit thanks thank
    roughly exactly actually really typically usually normally""".split()
)
MAX_CONTEXT_WORDS = 10


def _is_stop(word: str) -> bool:
    lowered = word.lower().replace("’", "'")
    return (
        lowered in STOPWORDS
        or lowered in _FILLER
        or lowered.endswith("'s")
        and (lowered[:-2] in STOPWORDS)
    )


def _core(word: str) -> str:
    return re.sub(r"['’]s$", "", word)


def _is_identifier(word: str) -> bool:
    return bool(_IDENT.match(_core(word)))


def _is_proper_noun(word: str, position: int) -> bool:
    """Capitalised mid-sentence ('Ender', 'Timken'); not acronyms (LOS, USB) nor the first word."""
    core = _core(word)
    return position > 0 and core[:1].isupper() and not core.isupper() and core.lower() != "i"


def _is_subject_word(word: str, position: int) -> bool:
    """Model names, part numbers and proper nouns."""
    return _is_identifier(word) or _is_proper_noun(word, position)


def _runs(text: str) -> list[list[tuple[str, int]]]:
    """Contiguous runs of content words (with their position in the sentence)."""
    runs: list[list[tuple[str, int]]] = []
    current: list[tuple[str, int]] = []
    for sentence in re.split(r"(?<=[.?!;])\s+|[()]", text):
        position = 0
        for match in _TOKEN.finditer(sentence):
            word = match.group(0)
            before = sentence[: match.start()].rstrip()
            gap = before[-1:] if before else ""
            if _is_stop(word) or (gap and gap in ",:;"):
                if current:
                    runs.append(current)
                    current = []
                if not _is_stop(word):
                    current.append((word, position))
            else:
                current.append((word, position))
            position += 1
        if current:
            runs.append(current)
            current = []
    return runs


def _has_own_subject(question: str) -> bool:
    position = 0
    for sentence in re.split(r"(?<=[.?!;])\s+", question):
        for i, match in enumerate(_TOKEN.finditer(sentence)):
            if _is_subject_word(match.group(0), i):
                return True
            position += 1
    return bool(re.search(r"\b[A-Z][a-z]+[ -]\d+[A-Za-z]?\b", question))


def _content_count(question: str) -> int:
    return len(set(terms(question, parts=False)))


def is_followup(question: str, history: Sequence[Turn]) -> bool:
    if not history:
        return False
    if _CONNECTOR.match(question) or _STRONG_REFERENCE.search(question):
        return True
    if _TRAILING_THAT.search(question):
        return True
    own = _has_own_subject(question)
    if _content_count(question) <= 2 and not own:
        return True
    return not own and _subject_and_phrases(history)[0] is not None


def _previous_query(turn: Turn) -> str:
    return (turn.standalone_query or turn.question).strip()


def _subject_and_phrases(history: Sequence[Turn]) -> tuple[str | None, list[str]]:
    """The most recent subject (e.g. "R11 receiver") and the last query's other noun phrases."""
    last_phrases: list[str] | None = None
    for turn in reversed(history):
        runs = _runs(_previous_query(turn))
        phrases = [" ".join(w for w, _ in run) for run in runs]
        if last_phrases is None:
            last_phrases = phrases
        # Part numbers and model names first; proper nouns ("Ender", "Timken") only without them.
        for test in (lambda w, p: _is_identifier(w), _is_proper_noun):
            for run, phrase in zip(runs, phrases, strict=True):
                if any(test(w, p) for w, p in run):
                    others = [p for p in last_phrases if p != phrase]
                    return _core(phrase), others
        if turn.identifiers:
            return turn.identifiers[0], last_phrases
    return None, last_phrases or []


def _substitute(question: str, subject: str) -> tuple[str, bool]:
    """Replace the first 'its'/'it' (not 'it is'-style filler at the start) with the subject."""
    for pattern, replacement in (
        (r"\bits\b", f"the {subject}'s"),
        (r"\bit\b(?!\s+(?:is|was)\s+(?:possible|necessary|ok|okay)\b)", f"the {subject}"),
    ):
        new, count = re.subn(pattern, replacement, question, count=1, flags=re.I)
        if count:
            return new, True
    return question, False


def condense_locally(question: str, history: Sequence[Turn]) -> str:
    question = " ".join(question.split())
    if not question or not is_followup(question, history):
        return question
    subject, phrases = _subject_and_phrases(history)

    stripped = _LEAD.sub("", question, count=1).strip() or question
    rewritten, substituted = _substitute(stripped, subject) if subject else (stripped, False)
    rewritten = rewritten[:1].upper() + rewritten[1:]

    short = _content_count(stripped) <= 2
    unresolved = bool(re.search(r"\b(that|this|those|these|they|them|one)\b", stripped, re.I))
    context: list[str] = []
    if subject and not substituted and compact(subject) not in compact(rewritten):
        context.append(subject)
    if short or unresolved or subject is None:
        asked = {w.lower() for w in _TOKEN.findall(rewritten)}
        for phrase in phrases:
            words = phrase.split()
            if all(w.lower() in asked for w in words) or phrase in context:
                continue
            if sum(len(p.split()) for p in context) + len(words) > MAX_CONTEXT_WORDS:
                break
            context.append(phrase)
    if not context:
        return rewritten
    return f"{rewritten} ({', '.join(context)})"


class LocalCondenser:
    name = "local-rules"

    async def condense(self, *, question: str, history: Sequence[Turn]) -> str:
        return condense_locally(question, history)
