"""Each unit's score for a question: weighted term coverage, phrase, identifiers, values,
table labels and the source's rank."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import NamedTuple

from techdocs_app.providers.extractive.question import (
    SPEC_CUES,
    focus_terms,
    question_terms,
    subject_terms,
)
from techdocs_app.providers.extractive.units import (
    ANAPHOR,
    ANSWER_LABEL,
    SYMPTOM_LABEL,
    VALUE,
    Unit,
)
from techdocs_app.text.condenser_context import split_context
from techdocs_app.text.identifiers import find_identifiers
from techdocs_app.text.synonyms import synonyms
from techdocs_app.text.words import compact, expand_contractions, raw_tokens, terms

FOCUS_WEIGHT = 1.6

SUBJECT_WEIGHT = 0.25

FEATURES = (
    "coverage",
    "phrase",
    "ident",
    "value",
    "label",
    "rank_prior",
)
"""What a unit's score adds up (`Unit.features`, in this order): the question terms' weighted
coverage, the share of the question's word pairs it holds, the share of its identifiers, a value
for a spec question (0.3 for a value with a unit or in the asked quantity's unit, WORDED_VALUE for
an amount in words, 0.1 for a bare number), a table row's label matching the asked-for words (up
to 0.3) and the source's rank (up to 0.1)."""

WEIGHTS = (1.0, 0.3, 0.2, 1.0, 1.0, 1.0)
"""The weight of each of FEATURES (`weighted_score`). Checked by `bench.fit_units fit` (coordinate
search over its GRID, by replayed evidence_in_answer, then the evidence unit ranked first) on the
passages the eval gave the answerer for dev, tune, the rewordings and the part numbers (496
answerable questions): these weights are the search's optimum; leave-one-manual-out picks them in
12 of 13 folds (trikdis_r11 held out: label 1.5, 2 answers fewer, 1 unit ranked first more), so
held out 0.742 evidence against 0.746, unit top-1 0.544 against 0.542. Features tried beside these
and left out, each lowering evidence at every weight tried (0.746 at 0): the cosine similarity of
the unit and the question by the local MiniLM embedder (0.728 at 0.1, 0.706 at 0.5; centred on the
median 0.722; fused by rank as local_rerank does, 0.746 at 0.25, then lower; unit top-1 at most
0.561), whether the unit lies in the chunk the search found (0.734 at 0.05), the share of the
unit's words the question asks (0.740 at 0.1) and the question words of the unit's paragraph and
passage heading (0.744 at 0.05, 0.726 at 0.3). A listwise logistic fit of the weights (softmax over
a question's units, the evidence units as targets) ranks the same 226 of 394 first in sample and
227 leave-one-manual-out."""

QUESTION_SHARE = 0.5
"""A sentence that asks a question (a manual's review question 'Q4. What tool should be used to
strip aluminum wire?', a rhetorical one) answers nothing: it scores this share. Headings ending
in '?' ('Axis movement is not normal?') still name their section. On dev, tune and the probes,
any share from 0.6 down gained one question and lost none (leave-one-manual-out: no manual up or
down); it keeps quiz lines out of answers."""

ASKS = re.compile(r"\?[\s\"”’)]*$")


_NUMBERED = re.compile(r"^([a-z]{3,})\d{1,2}$")
_TOC_LINE = re.compile(r"(?:\.\s?){4,}\s*\d|…{2,}|\.\.\.(?:\s*\d|\s*$)")


_NUMBER = r"(?<![A-Za-z\d])\d+(?:[.,]\d+)?\s?"


class Cue(NamedTuple):
    """A question word (or 'how long' phrase) and how a manual states what it asks for."""

    asked: re.Pattern[str]
    """Matches a whole question term (stemmed) or a 'how …' phrase."""
    stated: re.Pattern[str]
    """Searched in a unit's text."""
    value: bool
    """Whether `stated` is a value in one of the quantity's units."""


def _quantity(asked: str, unit: str) -> Cue:
    return Cue(re.compile(asked), re.compile(rf"{_NUMBER}(?:{unit})(?![A-Za-z])"), True)


def _phrase(asked: str, phrase: str) -> Cue:
    return Cue(re.compile(asked), re.compile(rf"(?i)\b(?:{phrase})(?![A-Za-z])"), False)


CUES = (
    _quantity(r"volt\w*|millivolt\w*|[mk]v", r"[kmµμu]?V|volts?"),
    _quantity(r"current|amps?|amper\w*|milliamp\w*|[mµu]a", r"[kmµμun]?A|amps?|amperes?"),
    _quantity(r"power|wattag\w*|watts?|[mk]w", r"[kmµμu]?W|watts?|dBm"),
    _quantity(r"temperatur\w*|hot|cold|heat|how hot", r"°\s?[CF]|[oº]\s?[CF]|degrees?"),
    _quantity(r"frequenc\w*|clock|[kmg]?hz", r"[kMG]?Hz"),
    _quantity(
        r"time|tim|delay\w*|duration|timeout\w*|interval\w*|how long",
        r"[mµμun]?s|sec\w*|min\w*|hours?|h",
    ),
    _quantity(
        r"length|distanc\w*|reach|siz\w*|dimension\w*|diameter|width|thickness|how far|how big",
        r"[mµμnck]?m|in(?:ch(?:es)?)?|ft|feet|mils?",
    ),
    _quantity(r"weight|heavy|mass|how heavy", r"k?g|lbs?|oz"),
    _quantity(r"pressur\w*", r"psig?|k?Pa|bar"),
    _quantity(r"torqu\w*", r"N\.?m|lb\.?-?ft|in\.?-?lbs?"),
    _quantity(r"baud|bandwidth|throughput", r"[kMG]?bps|[kMG]?b/s|[KMG]Baud"),
    _quantity(r"spe|speed", r"[kMG]?Hz|[kMG]?bps|[kMG]?b/s|mm/s|m/s|rpm"),
    _quantity(r"memory|flash|ram|sram|capacity", r"[KMG]B(?:ytes)?|[KMG]bytes|bytes"),
    _quantity(r"resistanc\w*|impedanc\w*|[km]?ohm\w*", r"[kM]?Ω|[kM]?ohms?"),
    _phrase(r"lowest|minimum|min|least|smallest", r"down to|at least|min(?:imum)?|not less than"),
    _phrase(r"highest|maximum|max|most|largest", r"up to|max(?:imum)?|not exceeding|no more than"),
    Cue(
        re.compile(r"accura\w*|precis\w*|inaccura\w*"),
        re.compile(r"(?i)\b(?:errors?|accuracy|tolerance|deviation)\b|±|\+/-"),
        False,
    ),
    _phrase(r"how much", r"amount|quantity"),
    _phrase(r"how many", r"number of"),
    _phrase(r"which not", r"except|excluding|other than|apart from|with the exception"),
    _phrase(
        r"document version",
        r"rev(?:ision)?\.?\s?\d+(?:[.\-]\d+)*"
        r"|(?:datasheet|data sheet|manual|guide|handbook)\s+(?:v\d+(?:\.\d+)*|\d+(?:\.\d+)+)",
    ),
    _phrase(r"why", r"because|caus\w*|due to|results? in|resulting|reason\w*|if|when"),
)
"""What a question asks for in one word and a manual states in another: a voltage is stated in
volts ('powered with 12,6 V DC'), a time in seconds ('how long before it's dead?': 'only 2
minutes after …'), a size in millimetres ('how big is the board?': 'Appearance size: 100.75 *
70.25mm'), a speed in hertz or bits per second, the lowest value as 'ensured down to 2.7 V', the
maximum as 'not exceeding 150 mA', an accuracy as an error or tolerance ('Temperature monitor
absolute error -3 3 degC', '± 2 dB'), 'how much tape' as 'the amount of tape', the manual's own
version by its label and number ('DATASHEET 6.0', 'Doc ID 14611 Rev 8'). Units and phrases of
technical writing in general, not of one manual. A unit the question names ('pull-up value in
kohms?', 'how many mA') asks for its quantity too. The asked-for words are stems ('tim' of 'time',
'siz' of 'size')."""


_WORDED_AMOUNT = re.compile(
    r"(?i)\b(?:one|two|three|four|five|six|seven|eight|nine|ten|twelve|twice|half)"
    r"(?:-(?:half|third|fourth|quarter)s?)?"
    r"(?:\s+and\s+(?:a\s+)?(?:one-)?(?:half|third|quarter))?"
    r"\s+(?:times|to\s+(?:one|two|three|four|five|six|seven|eight|nine|ten)|inch(?:es)?|feet|"
    r"foot|turns?|full|percent)\b"
)
"""An amount written in words ('about two and one-half times the length', 'one-fourth to
one-half full', 'three turns'): a value, as '2.5 times' would be."""

WORDED_VALUE = 0.3
"""What an amount written in words adds to a spec question's unit: as much as a stated value
(0.3). Swept 0-0.4 on dev, tune and the probes: 0.3 gains 5 questions, loses none, but all five
ask one manual (lacing), so leave-one-manual-out moves no held-out manual (0.3 picked in 12 of 13
folds; the fold holding that manual out sees no difference and keeps 0)."""

_HOW = re.compile(r"(?i)\bhow (long|hot|far|heavy|big|much|many)\b")


_WHY = re.compile(
    r"(?i)\bwhy\b|\bwhat(?:['’]s| is| could| would| might)?(?: be)? "
    r"(?:going on|wrong|causing|the cause)|\bwhat causes\b"
)
"""A question asking for a cause ('why?', 'what's going on?', 'what could be causing it?'; not
'is something wrong?', which asks whether): a manual states one with 'because', 'caused by',
'due to', 'results in', or as a condition ('When the nut on a gun becomes loose, the resistance
… increases')."""


_WHICH_NOT = re.compile(
    r"(?i)\b(?:which|what)\b(?:\s+\w+){0,3}?\s+(?:can|does|do|will|is|are|has|have)\s+(?:not|no)\b"
    r"|\b(?:which|what)\s+(?:\w+\s+)?(?:has|have|lacks?|without)\s+no\b"
)
"""A question asking for the exception ('Which one can't use DMA?', 'which USART has no DMA?'):
a manual states it as 'All interfaces … except for UART5'."""


_CODE = re.compile(r"(?<![\w\-])(?=[A-Za-z\d]*\d)(?=[A-Za-z\d]*[A-Za-z])[A-Za-z\d]{6,}(?![\w\-])")
"""A part number or order code typed as one word ('stm32f103ret6', 'TS2017S31C')."""

CODE_DIFFERENCES = 2
"""Positions two codes of one family may differ in to be compared character by character
('stm32f103ret6 vs stm32f103vet6' differ in one; two codes differing in more are two products,
not two variants of one ordering key). Leave-one-manual-out over 1-4 on dev, tune and the probes:
flat (one question compares two codes), so the smallest that reads a one-letter and a
two-letter variant."""


def code_differences(question: str) -> set[str]:
    """The characters in which codes of one ordering scheme the question compares differ
    ('stm32f103RET6 vs stm32f103VET6, what's the difference?' -> R, V): the manual's ordering
    key defines each ('Pin count R = 64 pins V = 100 pins'), and shares no word with the
    question."""
    codes = list(dict.fromkeys(c.upper() for c in _CODE.findall(question)))
    out: set[str] = set()
    for i, a in enumerate(codes):
        for b in codes[i + 1 :]:
            if len(a) != len(b):
                continue
            diff = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
            if 0 < len(diff) <= CODE_DIFFERENCES:
                out |= {c for pair in diff for c in pair}
    return out


def code_characters(question: str, titles: Sequence[str]) -> set[str]:
    """The characters of a part number the question asks to decode, after the family a manual's
    title names ('Decode STM32F103ZEH6' with the 'STM32F103 datasheet' -> Z, E, H, 6): the
    ordering key defines each ('Package H = BGA')."""
    families = {w for t in titles for w in re.findall(r"[a-z0-9]+", t.lower()) if len(w) >= 4}
    out: set[str] = set()
    for code in _CODE.findall(question):
        code = code.upper()
        family = max(
            (f for f in families if code.lower().startswith(f) and re.search(r"\d", f)),
            key=len,
            default="",
        )
        if family and len(code) > len(family):
            out |= set(code[len(family) :])
    return out


_NAMED_SYMBOL = re.compile(
    r"(?i)\b(?:digit|letter|character|suffix)\s+['\"‘“]?([a-z\d])\b"
    r"|(?<![\w\-])['\"‘“]?(?-i:(?!a\s))([a-z\d])['\"’”]?\s+(?:digit|letter|character|suffix)\b"
)
"""A character of a code the question names as such ('the digit 7 at the end of the order
code', 'the T suffix', 'what does letter H stand for'): the ordering key defines it ('7 =
Industrial temperature range'). The article of 'a suffix', 'a letter' is none."""


_DOCUMENT_VERSION = re.compile(
    r"(?i)(?<!firmware )(?<!software )(?<!hardware )(?<!fw )(?<!hw )(?<!bios )"
    r"(?<!driver )(?<!app )(?<!protocol )"
    r"\b(?:version|revision|rev|edition)\b(?:\W+\w+){0,6}?\W+"
    r"(?:datasheet|data\s?sheet|manual|document|doc|guide|pdf|handbook)s?\b"
    r"|\b(?:datasheet|data\s?sheet|manual|document|doc|guide|pdf|handbook)(?:['’]s)?\s+"
    r"(?:version|revision|rev|edition)\b"
)
"""A question about the manual's own version ('What version is the … datasheet?', 'which
revision of the manual is this?'): a manual prints it as a label and a number in its header or
footer ('DATASHEET 6.0', 'Doc ID 14611 Rev 8'), which shares no word with the question but
'datasheet', a word naming the manual. A product's version ('what firmware version does the
manual recommend?') is no edition of the manual."""


def asked_cues(question: str, q_terms: Sequence[str]) -> list[tuple[set[str], Cue]]:
    """The cues of the question's words (or 'how …' phrases), each with the words naming it. A
    shop word names the cue of the manual's word ('temp' a temperature, 'freq' a frequency)."""
    words = [*q_terms, *(f"how {m.lower()}" for m in _HOW.findall(question))]
    if _WHY.search(question):
        words.append("why")
    if _WHICH_NOT.search(expand_contractions(question)):
        words.append("which not")
    if _DOCUMENT_VERSION.search(question):
        words.append("document version")
    out = []
    for cue in CUES:
        named = {
            w
            for w in words
            if cue.asked.fullmatch(w) or any(cue.asked.fullmatch(s) for s in synonyms(w))
        }
        if named:
            out.append((named, cue))
    return out


_PARTICLES = frozenset({"up", "down", "off", "out", "back", "over", "in", "on"})
"""Particles of a phrasal verb the manual writes as one word: 'shut … down' / 'shutdown', 'start
up' / 'start-up', 'set up' / 'setup', 'warm up' / 'warm-up', 'back up' / 'backup'."""

PHRASAL_GAP = 4
"""Words a phrasal verb's object may put between the verb and its particle ('shut the HT-920B's
gun down')."""


def phrasal_compounds(question: str, vocabulary: set[str]) -> list[str]:
    """The manual's one-word forms of the question's phrasal verbs: 'How do I shut the gun down?'
    asks for the 'shutdown procedures', 'how do I start it up?' for the 'start-up' steps. A form
    counts only when some passage writes it (a word no passage has would only dilute the
    others)."""
    tokens = raw_tokens(expand_contractions(question))
    out: list[str] = []
    for j, particle in enumerate(tokens):
        if particle not in _PARTICLES:
            continue
        for verb in tokens[max(0, j - PHRASAL_GAP - 1) : j]:
            if not verb.isalpha() or len(verb) < 3:
                continue
            for form in (f"{verb}{particle}", f"{verb}-{particle}"):
                found = [t for t in terms(form, parts=False) if t in vocabulary]
                out += [t for t in found if t not in out]
    return out


_DOUBLED = re.compile(r"([bdgmnprt])\1$")
"""A stem ending in a doubled consonant ('dipp' of 'dipping', 'tinn' of 'tinning', 'plugg' of
'plugged'): the word without the suffix has one ('dip', 'tin', 'plug')."""


def _expansions(q_terms: Sequence[str], vocabulary: set[str]) -> dict[str, set[str]]:
    """The unit terms each question term matches: itself, the manual's words for a shop word
    ('psu'/'power', 'wiped'/'lost'), the word a doubled consonant was added to ('dipping'/'dip'),
    and for words of five letters or more those sharing a stem with it ('wattage'/'watts',
    'lacing'/'lace')."""
    out: dict[str, set[str]] = {}
    for term in q_terms:
        found = {term} | (synonyms(term) & vocabulary)
        if _DOUBLED.search(term) and term[:-1] in vocabulary:
            found.add(term[:-1])  # 'dipping' is stemmed 'dipp', 'dip' stays 'dip'
        if len(term) >= 5 and term.isalpha():
            found |= {
                u
                for u in vocabulary
                if len(u) >= 4
                and u[:4] == term[:4]
                and u.isalpha()
                and (u.startswith(term) or term.startswith(u))
            }
        out[term] = found
    return out


_DECODE = re.compile(
    r"(?i)\b(?:mean|means|meaning|decode|stands? for|denotes?|indicates?|breaks? down|break-?down)\b"
)


def _code_parts(question: str, q_terms: Sequence[str]) -> dict[str, set[str]]:
    """A code the question asks to decode ('What does the cable tag C-MB144 mean?', 'Decode
    P215A4N'), mapped to its parts of two characters or more ('mb', '144'; '215'): the manual
    explains a code part by part ('The letters MB denote the circuit', 'The wire number, 215,
    indicates …'), so a sentence naming a part is about the code."""
    if not _DECODE.search(question):
        return {}
    out: dict[str, set[str]] = {}
    for term in q_terms:
        if len(term) < 5 or not (re.search(r"\d", term) and re.search(r"[a-z]", term)):
            continue
        parts = {p for p in re.findall(r"[a-z]+|\d+", term) if len(p) >= 2}
        if len(re.findall(r"[a-z]+|\d+", term)) >= 3 and parts:
            out[term] = parts
    return out


def _merged_labels(units: list[Unit]) -> dict[int, str]:
    """A table row whose first cell is empty goes on with the entry above it: the PDF split a
    merged cell ('No heat | Thermistor unplugged | Reconnect it' then ' | Heater fuse blown |
    Replace the fuse'), so the row is about the first cell above it, the symptom or fault its
    cause and remedy answer. Unit id -> that cell."""
    out: dict[int, str] = {}
    label = ""
    block = -1
    for unit in units:
        if unit.table is None:
            block = -1
            continue
        row = unit.table[1]
        if unit.block != block:
            block, label = unit.block, ""
        if row and row[0]:
            label = row[0]
        elif label and len(row) >= 3 and any(row[1:]):
            out[id(unit)] = label
    return out


def _inherit_symptoms(units: list[Unit]) -> None:
    """A troubleshooting entry written as labelled lines ('Problem: Prints are faint.' then
    'Cause: Toner is low.' and 'Solution: Replace the toner cartridge.'): the cause and the remedy
    answer for the problem, so they match its question terms too."""
    symptom: Unit | None = None
    for unit in units:
        if unit.table is not None or unit.heading and not SYMPTOM_LABEL.match(unit.text):
            symptom = None
        elif SYMPTOM_LABEL.match(unit.text):
            symptom = unit
        elif ANSWER_LABEL.match(unit.text):
            if symptom is not None and symptom.source is unit.source:
                unit.matched = unit.matched | symptom.matched
        else:
            symptom = None


def _inherit_antecedents(units: list[Unit]) -> None:
    """A sentence that refers back ('It has a melting point of 361 °F.', 'These types are
    semiconducting …') is about the previous sentence's subject: it matches that sentence's
    question terms too, so the sentence stating the asked-for fact can win over its antecedent,
    which only names the subject."""
    for before, unit in zip(units, units[1:], strict=False):
        if (
            unit.table is None
            and not unit.heading
            and before.table is None
            and before.source is unit.source
            and before.block == unit.block
            and ANAPHOR.match(unit.text)
        ):
            unit.matched = unit.matched | before.matched


def score_units(question: str, units: list[Unit], n_sources: int) -> None:
    q_terms = question_terms(question)
    if not q_terms:
        return
    main, context = split_context(question)
    focus = focus_terms(question)
    context_terms = set(question_terms(context)) - set(question_terms(main))
    # Words of the manual's title and of the question's model names say which manual, not which
    # sentence answers.
    sources = list({id(u.source): u.source for u in units}.values())
    titles = {compact(s.document_title) for s in sources}
    idents = find_identifiers(main)
    named = subject_terms(main, sources)
    # 'How big is the SKR Mini E3 V2 PCB?': the asked-for phrase names the product too; its other
    # words say what is asked. (Two letters found inside a heading's word, like the 'IP' of
    # 'DESCRIPTION', name no product.)
    naming = {t for t in named if len(t) >= 3 or re.search(r"\d", t)}
    if focus - naming:
        focus = focus - naming
    subject = (context_terms | named) - focus
    header_terms: dict[tuple[str, ...], set[str]] = {}
    own_terms: dict[int, set[str]] = {}
    merged = _merged_labels(units)
    for unit in units:
        unit.seq = terms(unit.text)
        if id(unit) in merged:
            unit.seq = unit.seq + terms(merged[id(unit)])
        unit.terms = set(unit.seq)
        # A numbered instance names its kind: 'ADC1_IN16' is an ADC input, 'USART2' a USART.
        unit.terms |= {m.group(1) for t in unit.seq if (m := _NUMBERED.match(t))}
        own_terms[id(unit)] = set(unit.terms)
        if unit.table and unit.table[0]:
            header = tuple(unit.table[0])
            if header not in header_terms:
                header_terms[header] = set(terms(" ".join(header)))
            unit.terms |= header_terms[header]
    vocabulary = set().union(*(u.terms for u in units))
    # The phrasal verb is the action a how-to asks for: its one-word form weighs as the focus.
    compounds = phrasal_compounds(main, vocabulary)
    q_terms += [t for t in compounds if t not in q_terms]
    focus |= set(compounds)
    expansions = _expansions(q_terms, vocabulary)
    cues = asked_cues(main, question_terms(main))
    decoded = _code_parts(main, q_terms)
    if decoded:
        # 'What does the shipboard cable tag C-MB144 mean?' asks for the code, the words before it
        # say what kind of code it is.
        focus = set(decoded)
    q_terms += sorted({t for named, _ in cues for t in named} - set(q_terms))
    states_kind: set[int] = set()  # units stating a value of the asked-for quantity
    for unit in units:
        unit.matched = {t for t in q_terms if unit.terms & expansions.get(t, set())}
        unit.matched |= {code for code, parts in decoded.items() if parts & set(unit.seq)}
        unit.own = {t for t in unit.matched if own_terms[id(unit)] & expansions.get(t, set())}
        for named, cue in cues:
            if cue.stated.search(unit.text):
                unit.matched |= named
                unit.own |= named
                if cue.value:
                    states_kind.add(id(unit))
    df = Counter(t for u in units for t in u.matched)
    _inherit_antecedents(units)
    _inherit_symptoms(units)
    n = len(units)
    weight: dict[str, float] = {}
    for t in q_terms:
        idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
        factor = FOCUS_WEIGHT if t in focus else SUBJECT_WEIGHT if t in subject else 1.0
        weight[t] = idf * factor
    total = sum(weight.values()) or 1.0
    asked = [t for t in q_terms if t not in subject]
    q_seq = terms(main, parts=False)
    q_pairs = {(a, b) for a, b in zip(q_seq, q_seq[1:], strict=False) if a != b}
    q_idents = [i for i in idents if not any(i in t for t in titles) and len(i) >= 2]
    # A why-question asks for a cause, not a value ('comes back from low power with RAM wiped,
    # why?' names a power, asks for none).
    wants_values = bool(SPEC_CUES.search(main)) and not _WHY.search(main)
    # A symbol the question asks about ('What's K in that formula?', 'what does the letter T
    # denote?') and the line defining it ('K = Constant to compensate for …', or a key of an
    # ordering scheme 'Package H = BGA T = LQFP'). The C of '°C' and the E of 'E-steps' are not
    # symbols.
    symbols = set(re.findall(r"(?<![\w'’°\-])([B-HJ-Z])(?![\w'’\-])", main))
    symbols |= code_differences(main)
    if _DECODE.search(main):
        symbols |= code_characters(main, [s.document_title for s in sources])
    symbols |= {c.upper() for pair in _NAMED_SYMBOL.findall(main) for c in pair if c}
    definition = (
        re.compile(
            rf"^\s*(?:where:?\s*)?(?:{'|'.join(sorted(symbols))})\s*(?:=|:|–)\s*\S"
            rf"|(?<![\w'’])(?:{'|'.join(sorted(symbols))})\s=\s\S"
        )
        if symbols
        else None
    )
    for unit in units:
        matched = unit.matched
        unit.asked = matched - subject
        defines = definition is not None and definition.search(unit.text) is not None
        unit.defines = defines
        if defines:
            unit.score = 1.0 + 0.1 * (1 - (unit.source.number - 1) / max(1, n_sources))
            continue
        if not matched or _TOC_LINE.search(unit.text):
            unit.score = 0.0
            continue
        if asked and not matched & set(asked):
            unit.score = 0.0  # names the product, says nothing about what was asked
            continue
        # fsum: the same score whatever order the set holds its terms in (a plain sum of floats
        # in hash order broke near-ties differently from one process to the next).
        coverage = math.fsum(weight[t] for t in matched) / total
        pairs = set(zip(unit.seq, unit.seq[1:], strict=False))
        phrase = len(q_pairs & pairs) / len(q_pairs) if q_pairs else 0.0
        blob = compact(unit.text)
        ident = sum(1 for i in q_idents if i in blob) / len(q_idents) if q_idents else 0.0
        value = 0.0
        if wants_values:
            # A value in the asked quantity's unit counts as any value does: a bonus on top of it
            # let rows of figures that happen to be in that unit (timings 'TA = –40 to +105 °C' for
            # a part number 'rated to 105 °C') outrank the line stating what was asked.
            if id(unit) in states_kind or VALUE.search(unit.text):
                value = 0.3
            elif _WORDED_AMOUNT.search(unit.text):
                value = WORDED_VALUE
            elif re.search(r"(?<![A-Za-z\d])\d", unit.text):
                value = 0.1
        label = 0.0
        if unit.table is not None:
            # A row labelled with the asked-for words ('IP address | 192.168.100.3').
            # The label may write a shop word the manual's way ('rx sens' -> 'Receiver
            # Sensitivity').
            label_terms = set(terms(next((c for c in unit.table[1] if c), "")))
            written = set().union(*(expansions.get(t, {t}) for t in matched))
            if label_terms:
                label = 0.3 * len(label_terms & written) / len(label_terms)
        rank_prior = 0.1 * (1 - (unit.source.number - 1) / max(1, n_sources))
        # No penalty for a unit's length: a short heading ('Bed Leveling') names its section's
        # steps, and a penalty on long units changed no answer.
        unit.features = (coverage, phrase, ident, value, label, rank_prior)
        if not unit.heading and unit.table is None and ASKS.search(unit.text):
            unit.share = QUESTION_SHARE
        unit.score = weighted_score(unit, WEIGHTS)


def weighted_score(unit: Unit, weights: Sequence[float]) -> float:
    """A scored unit's score under `weights` (one per entry of FEATURES)."""
    return unit.share * sum(w * f for w, f in zip(weights, unit.features, strict=True))
