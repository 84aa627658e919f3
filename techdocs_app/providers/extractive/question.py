"""What a question asks: its terms, the asked-for phrase (focus), the words naming the product,
and whether it wants steps or a value."""

from __future__ import annotations

import re
from collections.abc import Sequence

from techdocs_app.providers.base import SourcePassage
from techdocs_app.text.condenser_context import split_context
from techdocs_app.text.words import (
    STOPWORDS,
    compact,
    expand_contractions,
    raw_tokens,
    stem,
    terms,
)

PROCEDURE_CUES = re.compile(
    r"\b(how (?:do|can|should|to|is|are)|walk me through|procedure|steps?|"
    r"(?:right|best|correct|proper) way to|what do (?:i|we|you) do)\b|\bhow\s*\?",
    re.I,
)
"""A question asking for steps: 'how do I …', 'walk me through …', 'the steps to …', and as a
technician types it, 'right way to wrap …?', 'the pump won't prime, what do I do?', 'need to get
into the receiver, how?'. Action verbs alone ('install', 'change', 'reduce' …) were cues too: on
dev, tune and their rewordings no answer changed without them."""


SPEC_CUES = re.compile(
    r"\b(how (?:much|many|long|fast|far|big|hot|heavy)|what (?:is|are) the|which|range|voltage|"
    r"current|power|temperature|torque|size|weight|pressure|speed|frequency|rating|capacity|"
    r"maximum|minimum|typical|default|limit|reach|sensitivity|wattage|budget|dimensions?|"
    r"rates?|speeds?)\b",
    re.I,
)


_WH = re.compile(
    r"\b(?:what|which|how\s+(?:much|many|long|fast|far|big|hot|heavy|high|low|often))\b"
    r"(?:\s+(?:is|are|was|were|does|do|did|the|a|an|kind\s+of|type\s+of|sort\s+of))*\s+(.+)",
    re.I,
)


_PHRASE_END = re.compile(
    r"\b(?:of|for|on|in|at|to|does|do|did|is|are|was|were|should|can|could|must|will|would|when|"
    r"with|from|by|that|before|after|if|while|i|you|we|it|has|have)\b|[?,;:!.](?:\s|$)",
    re.I,
)


_QUESTION_FILLER = frozenset(
    """accept support take need denote decode indicate correspond mean explain describe find know
    work happen keep go run make check walk give call look kind sort type cause compare versus vs
    fix solve avoid prevent stop instead then once there here enough worth better procedure step
    method way start change letter digit character value anything something whether supposed
    typical typically""".split()
)


_HOW_ADJECTIVE = re.compile(
    r"(?i)\bhow\s+(?:much|many|long|fast|far|big|hot|heavy|high|low|often)\b"
)


_GLUED_VALUE = re.compile(
    r"(\d+(?:[.,]\d+)?)(?:[kmµu]?v|[kmµu]?a|[km]?w|[kmg]?hz|mm|cm|[mµun]?s|[km]?ohms?)"
)
"""A value typed with its unit ('3.3v', '5v', '12mm'); manuals print them apart ('3.3 V')."""


def question_terms(question: str) -> list[str]:
    """Content terms of the question. Compounds naming a part ('qsfp-100g-er4l') stay one term;
    word compounds ('stringing/oozing', 'hot-blade') also count by their words; a value typed
    with its unit ('3.3v') also by its number. 'How fast' asks for a value; 'fast' is not a word
    to look for."""
    out: list[str] = []
    # The 's of "What's" or "the F103's" is not a word to look for ('s' is a unit of time), nor
    # the 'won' and 't' of "won't".
    question = expand_contractions(question)
    for token in terms(_HOW_ADJECTIVE.sub(" ", question), parts=False):
        out.append(token)
        if glued := _GLUED_VALUE.fullmatch(token):
            out.append(glued.group(1))
        if re.search(r"[.,:/+\-]", token) and not re.search(r"\d", token):
            out.extend(stem(p) for p in re.split(r"[.,:/+\-]", token) if len(p) >= 2)
    return list(dict.fromkeys(t for t in out if t not in STOPWORDS))


def focus_terms(question: str) -> set[str]:
    """The phrase a what/which/how-much question asks for: 'What supply voltage range and maximum
    current does …' -> supply, voltage, range, maximum, current."""
    main = re.sub(r"(?i)\b(what|which)['’]s\b", r"\1 is", split_context(question)[0])
    match = _WH.search(main)
    if not match:
        return set()
    rest = match.group(1)
    end = _PHRASE_END.search(rest)
    phrase = rest[: end.start()] if end else rest
    return {t for t in question_terms(phrase) if t not in _QUESTION_FILLER}


def subject_terms(question: str, sources: Sequence[SourcePassage]) -> set[str]:
    """Question words naming the product or manual: words and model names found in a document
    title ('Ender' in 'ENDER3QUICKSTART') or in the section path of most sources ('SKR MINI E3
    V2.0'), and model-number parts next to one ('Ender 3', 'E3', 'V2.0')."""
    titles = [compact(s.document_title) for s in sources]
    heads = [compact(s.heading) for s in sources]
    tokens = terms(question, parts=False)
    # Names are written with capitals or digits ('SKR Mini E3'); a topic word ('aluminum') is not.
    named = {
        t.lower()
        for i, t in enumerate(re.findall(r"[A-Za-z0-9][\w.\-/+]*", question))
        if re.search(r"\d", t) or (i > 0 and re.search(r"[A-Z]", t))
    }
    flags = []
    for token in tokens:
        key = compact(token)
        in_heads = token in named and sum(1 for h in heads if key in h) >= max(2, 0.6 * len(heads))
        flags.append(
            bool(key)
            and ((len(key) >= 3 and any(key in t for t in titles)) or (len(key) >= 2 and in_heads))
        )
    # A model-number part sits right next to the name ('Ender 3', 'E3 V2'): a code the
    # question asks about is words away from it ('e712 from an r11').
    at = [i for i, t in enumerate(raw_tokens(question)) if t not in STOPWORDS]
    for i, token in enumerate(tokens):
        near = (i > 0 and flags[i - 1] and at[i] - at[i - 1] == 1) or (
            i + 1 < len(tokens) and flags[i + 1] and at[i + 1] - at[i] == 1
        )
        if not flags[i] and near and re.search(r"\d", token):
            flags[i] = True
    return {t for t, flag in zip(tokens, flags, strict=True) if flag}


def focus_of(question: str) -> set[str]:
    focus = focus_terms(question)
    return focus or {
        t for t in question_terms(split_context(question)[0]) if t not in _QUESTION_FILLER
    }
