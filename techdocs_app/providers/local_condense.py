"""The offline default condenser: turns a follow-up into a standalone search query.

A question is a follow-up when it leans on the conversation: it opens with "and"/"what about",
refers back ("it", "its", "they", "that one", "… instead?"), is very short, or names no subject
(no model name, part number or proper noun) while the conversation has one. Standalone questions
come back unchanged.

The previous turn's *subject* is its model, part or product name ("R11 receiver",
"TS2017-S31C-SO", "the STM32F103's internal temperature sensor", "ender 3" typed in lower case);
its *topic* the noun phrases it asked about ("DDM temperature reading"). The rewrite is a question a person could have typed:
- a pronoun is replaced by the subject:
  "Where does it assert and clear LOS?" -> "Where does the TS2017-S31C-SO assert and clear LOS?";
- an elliptical follow-up takes the previous question's frame:
  "and the rx power reading?" after "How accurate is the DDM temperature reading on the
  QSFP-100G-ER4L-A-FL?" -> "How accurate is the rx power reading on the QSFP-100G-ER4L-A-FL?";
- a new model in the same family replaces the old subject, it is not appended to it:
  "What about the RL14?" after "What is the supply voltage of the RT2?" -> "What is the supply
  voltage of the RL14?"; "what about the Ender 3 Pro?" after "… on the Ender 3?" -> "… on the
  Ender 3 Pro?" (a name extending the subject's, or a code like the one it ends with: "the R11"
  after the RT2); "same for X?" reads as "what about X?"; "And the U version?" after "… of the
  Trikdis R11?" -> "… of the Trikdis R11U?", but a longer tag is named, not glued: "what about
  the LR version?" -> "… of the LR version of the TS2017-S31C-SO?"; after a preposition too
  ("and on the 24 V one?"); a value with its unit is a
  condition, not a model: "and at 10GE?" -> "… of the TS2017-S31C-SO at 10GE?";
- a follow-up asking the previous question again of another thing is that question about it:
  "is it the same on the R11?", "does that apply to the R11?", "does the R11 do that too?",
  "same question for the R11", or the name alone ("R11?") after "What supply voltage does the
  Trikdis RT2 accept?" -> "What supply voltage does the R11 accept?" (a name there is another
  model, whatever its family: the old subject is not glued on, nor the kind it was named with,
  "the RT2 telephone receiving module", while a part of it stays, "the F107's internal
  temperature sensor"); "does that apply to stranded
  wire?" takes the slot of "for dip-tinning wire";
- a name with another number replaces the old one, however it is cased: "what about the ender
  5?" after "What's the max print speed on the ender 3?" -> "What's the max print speed on the
  ender 5?";
- a noun phrase typed alone ("rx power reading?", "the slide pins?") is elliptical as with
  "and …"; "this one"/"that one" are not put in the previous frame (they point at what the
  previous question does not name);
- a phrase is not glued to a previous question of several clauses ("new ender 3 out of the box -
  anything to set on the PSU before I plug it in?" + "and in Marlin?" is not "… plug it in in
  Marlin?" but "What about in Marlin? (ender 3, …)"), nor put in one of its slots;
- other things of the number of those the previous question asked a quantity of keep the
  quantity: "and the slide pins?" after "What torque do the caliper bolts on the M4 take?" ->
  "What torque do the slide pins on the M4 take?", "the rear ones" -> "… the rear caliper bolts
  …" (a new quantity, "and the torque?", keeps the things: below);
- "they"/"them"/"their" agree in number: they take the previous question's plural noun phrase
  when it has one ("How often do I check them?" after "What torque do the caliper bolts on the
  M4 take?" -> "How often do I check the caliper bolts? (M4, torque)"), else the subject;
- "it"/"that" compared with a limit ("what if it's too high?", "if that reads below 11 V?",
  "it goes out of range") is the quantity a what/which question asked for: "What if the supply
  voltage is too high? (Trikdis RT2)" after "What supply voltage does the Trikdis RT2 accept?"
  ("how much X" asks X, "how many X" the number of X);
  so is "it" checked, measured, adjusted or changed ("how do I check it?" -> "How do I check
  the supply voltage? (Trikdis RT2)"), while a device is reset or replaced ("how do I reset
  it?" keeps the subject);
- "it" after a yes/no question takes the object that question introduced with "a"/"an" (a new
  entity): "Where does it go?" after "Does it come with a SIM card?" -> "Where does the SIM card
  go? (RL14)"; after a wh-question "it" stays the subject;
- "that <noun>" takes the previous question's noun phrase with the same head word ("that
  formula" -> "the Projecta-Set setting formula"), else the one named <noun> the previous answer
  mentions ("Standby mode"); several named ones (Sleep, Stop, Standby mode) resolve nothing;
- a follow-up asking nothing of its own ('and?', 'huh?', 'sorry, what?', 'come again?':
  `asks_again`) is the previous question again; 'why?' and 'how?' ask about the answer;
- a short code after a subject that is not a code ('and the R11?' after '… on the Ender-3?')
  reads as a part of the subject ('What about the R11 of the Ender-3? (bed)'): the rules cannot
  tell the R11 receiver from a resistor R11 on the printer's board. The pipeline looks the name up
  in the previous manuals and, when none writes it, asks `about_another_model` instead: the
  previous question about it ('How do I level the bed on the R11?');
- the previous question is the latest one that names something besides the subject: after
  "why?" or "where is that?", the question before it goes on ("how do I check it?" after "What
  supply voltage does the Trikdis RT2 accept?" and "why?" checks the supply voltage);
- otherwise the subject and at most two short noun phrases of the topic follow in parentheses:
  "How deep do I dip the wire? (solder pot, dip-tinning wire)"; an elliptical follow-up that
  takes none of the previous question's frame carries the same topic: "and the build volume?"
  after "How do I add the Ender 3 in Cura?" -> "What about the build volume of the Ender 3?
  (add, Cura)".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from techdocs_app.providers.base import Turn
from techdocs_app.text.words import STOPWORDS, compact, terms

_LEAD = re.compile(
    r"^\s*(?:(?:and|but|also|so|ok(?:ay)?|then|now)\b[\s,]*)*"
    r"(?:same\s+(?:for|with)\b)?[\s,]*",
    re.I,
)
_CONNECTOR = re.compile(
    r"^\s*(and|but|also|so|then|what about|how about|what if|same for|same with)\b", re.I
)
_STRONG_REFERENCE = re.compile(
    r"\b(it|its|it's|they|them|their|theirs|those|these|that one|this one|the same|"
    r"once connected|instead|then|either|both|the other|another one)\b",
    re.I,
)
_REFERS_BACK = re.compile(r"\b(?:that|this|the same|those|these|it|its)\b", re.I)
_ASKS = re.compile(
    r"(?:what|which|how|where|when|why|who|whose|is|are|was|were|does|do|did|can|could|should|"
    r"will|would|must|has|have|may|might|if|once|after|before|while|until|unless)\b",
    re.I,
)
"""How a question opens (a follow-up that opens otherwise is a noun phrase: 'the slide pins?')."""
_TRAILING_THAT = re.compile(r"\b(that|this)\s*(\?|$|is|does|do|was|mean|means|work)", re.I)
_PHRASE_CHAR = r"(?:[^?.!,;]|(?<=\d)\.(?=\d))"
"""A character of an elliptical phrase: no punctuation, but a version's point ('V3.0')."""
_ELLIPTICAL = re.compile(
    r"^\s*(?:(?:and|but|also|so|ok(?:ay)?|then)\b[\s,]*)+(?:(?:what|how)\s+about\s+)?"
    rf"(?P<np>{_PHRASE_CHAR}{{1,80}}?)\s*(?:instead|then|too)?\s*\??\s*$"
    r"|^\s*(?:(?:what|how)\s+about|same\s+(?:for|with))\s+"
    rf"(?P<np2>{_PHRASE_CHAR}{{1,80}}?)\s*(?:instead|then|too)?\s*\??\s*$"
    r"|^\s*(?P<pp>(?:on|in|for|at|with|without|under|during|over)\s"
    rf"{_PHRASE_CHAR}{{1,60}}?)\s*\??\s*$",
    re.I,
)
_NP = r"([^?.!,;]{1,60}?)"
_TOO = r"(?:\s+(?:too|as\s+well|also))?\s*\??\s*$"
_SAME_QUESTION = re.compile(
    "|".join(
        (
            # 'is it the same on the R11?', 'is that different for the 24 V version?'
            # (the comparison is needed: 'is it on the left side?', 'is that in volts?' ask
            # their own question)
            r"^(?:is|are|was|would)\s+(?:(?:it|that|this|they|those|these)\s+"
            r"(?:the\s+)?(?:same|similar|different|true|so)|the\s+same(?:\s+true)?)\s+"
            r"(?P<p1>on|for|with|in)\s+" + _NP + _TOO,
            # 'does that apply to the R11?', 'does the same go for the Ender 5 too?'
            # ('does it work with the BLTouch?', 'does it go on the left?' ask their own)
            r"^(?:does|do|would|will)\s+(?:(?:that|this|it)\s+(?:also\s+)?(?:apply|hold)"
            r"|the\s+same\s+(?:also\s+)?(?:apply|hold|go|count))"
            r"\s+(?:true\s+)?(?P<p2>to|for|on|with|in)\s+" + _NP + _TOO,
            # 'does the R11 do that too?', 'does the RL14 have the same?'
            r"^(?:does|do|did|is|are|can|will|would)\s+" + _NP + r"\s+(?:do|have|use|take|"
            r"need|support|work\s+like|behave\s+like|get|be)\s+(?:that|this|it|the\s+same"
            r"(?:\s+one)?)" + _TOO,
            # 'is the R11 the same?', 'is the Ender 5 any different?'
            r"^(?:is|are)\s+" + _NP + r"\s+(?:the\s+same|any\s+different|different)" + _TOO,
            # 'same question for the R11', 'same thing on the Ender 5'
            r"^same\s+(?:question|thing|goes|answer|deal)\s+(?:for|with|on|in)\s+" + _NP + _TOO,
        )
    ),
    re.I,
)
"""A follow-up asking the previous question again of another thing: what it names (`np`)."""


def _same_question_for(question: str) -> str | None:
    """What 'is it the same on X?', 'does that apply to X?', 'does X do that too?', 'same
    question for X' ask the previous question about (X), else None."""
    stripped = _LEAD.sub("", question, count=1).strip()
    match = _SAME_QUESTION.match(stripped)
    if match is None:
        # 'and E05?' is elliptical as it stands (a code of the previous question's kind);
        # 'R11?' typed alone, or 'ok, the R11 too?', asks the previous question about it.
        alone = stripped == question.strip() or re.search(
            r"\b(?:too|as\s+well)\s*\??\s*$", stripped
        )
        return _bare_name(stripped) if alone else None
    groups = match.groupdict()
    np = next(g for i, g in enumerate(match.groups(), 1) if g and i not in _PREP_GROUPS).strip()
    words = [w.lower() for w, _, _ in _words(np)]
    if not words or any(w in _AUX or w in _NOT_ELLIPTICAL for w in words):
        return None
    # The preposition stays ('on the R11', 'for stranded wire': the previous question's slot for
    # it); 'apply to X' asks the question for X.
    preposition = (groups["p1"] or groups["p2"] or "").lower()
    preposition = "for" if preposition == "to" else preposition
    return f"{preposition} {np}" if preposition else np


_PREP_GROUPS = (1, 3)
"""The groups of `_SAME_QUESTION` that hold a preposition, not the thing named."""
_BARE_NAME = re.compile(r"^(?:the\s+)?(?P<np>[^?.!,;]{1,40}?)" + _TOO, re.I)


def _bare_name(question: str) -> str | None:
    """'R11?', 'the Ender 5 too?': a name alone (a model code or a name with its number, at most
    four words) asks the previous question about it; None for anything else."""
    match = _BARE_NAME.match(question)
    if match is None:
        return None
    words = [w for w, _, _ in _words(match["np"])]
    if not 0 < len(words) <= 4:
        return None
    if not all(_is_identifier(w) or w.isdigit() or w[:1].isupper() for w in words):
        return None
    if not (any(_is_identifier(w) for w in words) or _NAME_NUMBER.fullmatch(match["np"].strip())):
        return None
    return match["np"].strip()


_NOT_ELLIPTICAL = frozenset(
    """i you we he she it they me us them its their once when if after before while until
    because so what what's whats which how why where who this that these those""".split()
)
"""Words that make a follow-up's phrase a clause, or point at something the previous question
does not name ('what about this one?'): not a phrase to put in the previous question's frame."""
_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[.,:/+\-'’][A-Za-z0-9]+)*[+\-]?")
_IDENT = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9]+(?:[\-/.][A-Za-z0-9]+)*[+\-]?$")
_AUX = frozenset(
    "does do did is are was were can could should will would must has have may might".split()
)
_NEGATED_AUX = frozenset(
    """won't don't doesn't didn't can't cannot isn't aren't wasn't weren't shouldn't wouldn't
    couldn't hasn't haven't""".split()
)
"""A verb follows ('bed won't heat', 'it doesn't boot'): the noun phrase ends before them."""
_FILLER = frozenset(
    """indicate indicates mean means supposed know find like look happen happens work works go
    goes come comes give gives put take make sure right wrong kind sort lot bit thanks thank
    roughly exactly actually really typically usually normally""".split()
)
_NOT_NOUNS = frozenset(
    """long far fast big small high low hot cold much many often default typical maximum minimum
    max min first last next new old good bad best worst right wrong different same other
    sends send run runs running set get gets cover covers support supports use uses used need
    needs want wants wait waits adjusted happen takes take keep keeps throwing throw going go
    come back off out without within onto via per""".split()
)
"""Words that end a noun phrase of a question: verbs, and adjectives that ask rather than name."""
_VARIANT = re.compile(
    r"^(?:the\s+)?(?P<tag>[A-Za-z0-9][\w.+\-]{0,5}(?:\s?[VvAaWw])?)\s+(?:version|model|variant|one|type)$",
    re.I,
)
MAX_CONTEXT_PHRASES = 2
MAX_PHRASE_WORDS = 4


@dataclass(frozen=True)
class _Subject:
    name: str
    """The model, part or product name as written ('Trikdis R11', 'TS2017-S31C-SO')."""
    phrase: str
    """The name with its head noun phrase ('R11 receiver', "STM32F103's internal temperature
    sensor"): what a pronoun stands for."""


def _core(word: str) -> str:
    return re.sub(r"['’]s$", "", word)


def _is_stop(word: str) -> bool:
    lowered = word.lower().replace("’", "'")
    return (
        lowered in STOPWORDS
        or lowered in _FILLER
        or (lowered.endswith("'s") and lowered[:-2] in STOPWORDS)
    )


def _is_identifier(word: str) -> bool:
    return bool(_IDENT.match(_core(word)))


def _is_proper_noun(word: str, position: int) -> bool:
    """Capitalised mid-sentence ('Ender', 'Timken'); not acronyms (LOS, USB) nor the first word."""
    core = _core(word)
    if core.lower().replace("’", "'") in _PRONOUN_FORMS:
        return False
    return position > 0 and core[:1].isupper() and not core.isupper()


_NAME_NUMBER = re.compile(r"\b(?:[A-Z]{2,5}|[A-Z][a-z]+)[ -]\d+[A-Za-z]?\b")
_PRONOUN_FORMS = frozenset("i i'm i've i'd i'll".split())


def _is_model(word: str) -> bool:
    """A model or part number ('RL14', 'STM32F107', 'QSFP-100G-LR4-A-FL'), not a pin or lane
    name ('L0', 'D+')."""
    core = _core(word)
    return _is_identifier(core) and len(compact(core)) >= 4 and not _QUANTITY_WORD.match(core)


def _is_name_word(word: str, position: int) -> bool:
    """Model names, part numbers and proper nouns."""
    return _is_identifier(word) or _is_proper_noun(word, position)


_LY_NOUNS = ("supply", "assembly", "family", "anomaly")
"""Nouns in '-ly' ('power supply', 'hotend assembly'), matched as word endings ('subassembly');
not 'pply', which made the verb 'apply' a noun."""


def _is_noun_like(word: str) -> bool:
    lowered = _core(word).lower()
    if _is_stop(word) or lowered in _NOT_NOUNS or lowered in _AUX:
        return False
    if _is_identifier(word) or any(c.isupper() for c in word[1:]):
        return True
    # '-ly' is an adverb ('typically'), but not in 'supply' or 'assembly'.
    return not (lowered.endswith("ly") and len(lowered) > 4 and not lowered.endswith(_LY_NOUNS))


def _is_participle(word: str) -> bool:
    """'wiped', 'connected'; not a noun in '-eed' ('speed', 'bleed')."""
    lowered = word.lower()
    return lowered.endswith("ed") and not lowered.endswith("eed") and len(lowered) > 4


def _words(text: str) -> list[tuple[str, int, int]]:
    """(word, start, end) of each word."""
    return [(m.group(0), m.start(), m.end()) for m in _TOKEN.finditer(text)]


_QUANTITY_WORD = re.compile(r"^\d+(?:\.\d+)?[A-Za-z]{1,3}(?:-[a-z]+)?$")
"""A value with its unit ('5V', '5V-tolerant', '400G'): it names no product."""


def _has_own_subject(question: str) -> bool:
    for sentence in re.split(r"(?<=[.?!;])\s+", question):
        for i, match in enumerate(_TOKEN.finditer(sentence)):
            if _QUANTITY_WORD.match(match.group(0)):
                continue
            if _is_name_word(match.group(0), i):
                return True
    return bool(re.search(r"\b[A-Z][a-z]+[ -]\d+[A-Za-z]?\b", question))


_TYPED_NAME_NUMBER = re.compile(r"(?<![\w-])(?P<word>[a-z]{4,})[ -](?P<number>\d+)(?![\w.,-])")
_COUNTED = frozenset("seconds minutes hours days weeks years times percent degrees".split())
"""Words after a number that make it a count or a measure ('lasts 10 minutes'), not a name."""


_NUMBERED_PARTS = frozenset(
    "zone code grade step layer page channel port slot input output level mode line table "
    "figure section chapter item phase stage class type size gauge bit byte row column terminal "
    "relay circuit fuse bolt screw wire cable group partition user account event setting".split()
)
"""Nouns that number a part of a product or of its manual ('zone 2', 'error code 5', 'grade 8
bolts', 'step 4', 'channel 3'): a part the question is about, never the product a follow-up
continues with."""


def _typed_name_number(query: str) -> re.Match[str] | None:
    """A name and its number typed in lower case ('ender 3', 'awg 14'): a noun of four letters or
    more, not a function word or a verb, before a number that no unit follows ('weighs 2 kg',
    'over 30 seconds' are measures)."""
    for match in _TYPED_NAME_NUMBER.finditer(query):
        word = match["word"]
        if _is_stop(word) or word in _NOT_NOUNS or word in _AUX or not _is_noun_like(word):
            continue
        if word.lower() in _NUMBERED_PARTS or word.lower().rstrip("s") in _NUMBERED_PARTS:
            continue
        after = query[match.end() :].split()
        if _unit_after(query, match.end()) or (
            after and after[0].lower().strip(",.;:?!") in _COUNTED
        ):
            continue
        return match
    return None


def _subject_of(query: str) -> _Subject | None:
    """The model/part/product a query names, with the noun phrase it heads."""
    words = _words(query)
    index = next((i for i, (w, _, _) in enumerate(words) if _is_identifier(w)), None)
    if index is None:
        index = next(
            (i for i, (w, _, _) in enumerate(words) if _is_proper_noun(w, i)),
            None,
        )
    if index is None:
        # An acronym or a proper noun with its number: 'AWG 14', 'Ender 3'; typed in lower
        # case too ('ender 3').
        found = _NAME_NUMBER.search(query) or _typed_name_number(query)
        if found is None:
            return None
        return _Subject(name=found.group(0), phrase=found.group(0))
    start = index
    # A brand or series word right before ('Trikdis R11', 'SKR MINI E3'), a number right after
    # a name ('Ender 3').
    while start > 1 and (
        _is_name_word(words[start - 1][0], start - 1)
        or (words[start - 1][0].isupper() and len(words[start - 1][0]) >= 2)
    ):
        start -= 1
    end = index
    # A name does not run across punctuation ('STM32F103Rx (64-pin)' names the STM32F103Rx).
    while (
        end + 1 < len(words)
        and not query[words[end][2] : words[end + 1][1]].strip()
        and (
            _is_identifier(words[end + 1][0])
            or (words[end + 1][0].isdigit() and not _core(words[end][0]).isdigit())
            or (
                words[end + 1][0].isupper()
                and len(words[end + 1][0]) >= 2
                and "'" not in words[end][0]
            )
        )
    ):
        end += 1
    name = query[words[start][1] : words[end][2]]
    name_core = re.sub(r"['’]s$", "", name)
    # The head noun phrase: nouns after the name ('R11 receiver'), or after its possessive
    # ("STM32F103's internal temperature sensor"), stopping at a verb or a function word; in a
    # "does X <verb>?" question the clause's last word is the verb.
    phrase_end = end
    limit = min(len(words), end + 1 + 3)
    for j in range(end + 1, limit):
        word = words[j][0]
        between = query[words[j - 1][2] : words[j][1]]
        if between.strip() or not _is_noun_like(word) or _is_identifier(word):
            break
        if _is_participle(word):
            break  # "… temperature sensor wired to"
        phrase_end = j
    if phrase_end > end:
        after = query[words[phrase_end][2] :].lstrip()
        aux_before = any(w.lower() in _AUX for w, _, _ in words[:start])
        if aux_before and (not after or after[0] in "?.!") and phrase_end - end >= 1:
            phrase_end -= 1  # "… does the RL14's built-in SMS modem support?"
    phrase = query[words[start][1] : words[phrase_end][2]] if phrase_end > end else name_core
    return _Subject(name=name_core, phrase=re.sub(r"['’]s$", "", phrase))


def _history_subject(history: Sequence[Turn]) -> _Subject | None:
    for turn in reversed(history):
        subject = _subject_of(_previous_query(turn))
        if subject is not None:
            return subject
        if turn.identifiers:
            return _Subject(turn.identifiers[0], turn.identifiers[0])
    return None


def conversation_subject(history: Sequence[Turn]) -> str | None:
    """The model, part or product the conversation is about ('RL14', 'SKR MINI E3 V2.0'), from
    the latest turn that names one; None when no turn does."""
    subject = _history_subject(history)
    return subject.name if subject else None


def without_context(query: str) -> str:
    """A condensed query without the context appended in parentheses: the question's own words."""
    query = query.strip()
    return re.sub(r"\s*\([^()]*\)\s*$", "", query) or query


def _previous_query(turn: Turn) -> str:
    """The turn's standalone question, without context a condenser appended in parentheses."""
    return without_context(turn.standalone_query or turn.question)


def _previous_with_topic(history: Sequence[Turn]) -> str:
    """The latest turn's standalone question that names something besides its subject: a
    follow-up after "why?" or "where is that?" continues the question before it ("how do I check
    it?" after "What supply voltage does the RT2 accept?" then "why?" is about the supply
    voltage). The latest turn's when none does, or when the search reaches a turn about another
    model ('Tell me about the R11' after a question about the M4's caliper bolts is about the
    R11: the M4's torque is not carried over)."""
    subject = _history_subject(history)
    skip = subject.phrase if subject else ""
    key = compact(subject.name).lower() if subject else ""
    model = any(c.isdigit() for c in key)  # 'R11', 'Ender 3'; not a button read as one ('Set')
    for turn in reversed(history):
        query = _previous_query(turn)
        own = _subject_of(query)
        if model and own is not None and compact(own.name).lower() != key:
            break  # a turn about another model: the conversation moved on from it
        if _noun_phrases(query, skip=skip):
            return query
    return _previous_query(history[-1])


_NO_TOPIC_NEXT = frozenset("i we you they how".split())
"""Words after which comes a verb ('do I cut', 'how do I add') or an adjective ('how accurate'):
neither names what a passage is about."""


def _noun_phrases(text: str, skip: str = "") -> list[str]:
    """Short noun phrases of a question, in order, without the words of `skip`."""
    skip_words = {_core(w).lower() for w, _, _ in _words(skip)}
    phrases: list[str] = []
    current: list[str] = []
    previous_end = 0
    after_verb_slot = False
    for word, start, end in _words(text):
        gap = text[previous_end:start]
        previous_end = end
        breaks = bool(re.search(r"[,;:()?!.]", gap))
        lowered = word.lower().replace("’", "'")
        negation = lowered in _NEGATED_AUX
        noun = (
            _is_noun_like(word)
            and _core(word).lower() not in skip_words
            and not negation
            and not after_verb_slot
        )
        # A verb follows a negated auxiliary ('bed won't heat') or a personal pronoun ('do I
        # cut'), an adjective 'how' ('how accurate'): they name no topic.
        after_verb_slot = negation or lowered in _NO_TOPIC_NEXT
        if breaks or not noun:
            if current:
                phrases.append(" ".join(current[-MAX_PHRASE_WORDS:]))
            current = [word] if noun else []
        else:
            current.append(word)
    if current:
        phrases.append(" ".join(current[-MAX_PHRASE_WORDS:]))
    out = []
    for phrase in phrases:
        words = phrase.split()
        while words and _is_participle(words[-1]):
            words.pop()  # "RAM variables wiped" -> "RAM variables"
        if words:
            out.append(_core(" ".join(words)))
    return out


def _content_count(question: str) -> int:
    return len(set(terms(question, parts=False)))


def is_followup(question: str, history: Sequence[Turn]) -> bool:
    if not history:
        return False
    if _CONNECTOR.match(question) or _STRONG_REFERENCE.search(question):
        return True
    if _same_question_for(question) is not None:
        return True  # 'does that apply to the R11?' names its own model, and asks the old question
    if _TRAILING_THAT.search(question):
        return True
    if _FRAGMENT.match(question):
        return True  # 'in Marlin?': a prepositional phrase alone narrows the previous question
    own = _has_own_subject(question)
    if _content_count(question) <= 2 and not own:
        return True
    # A question naming nothing of its own continues the conversation's subject or topic.
    return not own and (
        _history_subject(history) is not None or bool(_noun_phrases(_previous_query(history[-1])))
    )


_IT = re.compile(r"\bit\b(?!\s+(?:(?:is|was)\s+)?(?:possible|necessary|ok|okay)\b)", re.I)
"""'it' as a pronoun, not the filler of 'it is possible to …' or 'is it ok to …'."""
_PLURAL_PRONOUN = re.compile(r"\b(?:they|them|their|theirs)\b", re.I)


def _plural_topic(previous: str, subject: _Subject | None) -> str | None:
    """The last plural noun phrase of the previous question other than the subject ('caliper
    bolts' in 'What torque do the caliper bolts on the M4 take?'): what 'they'/'them' stand for
    when the previous question names one (a pronoun agrees in number with what it replaces)."""
    skip = subject.phrase if subject else ""
    for phrase in reversed(_noun_phrases(previous, skip=skip)):
        head = phrase.split()[-1]
        lowered = head.lower()
        if (
            len(lowered) > 3
            and lowered.endswith("s")
            and not lowered.endswith(("ss", "us", "is", "'s"))
            and lowered.isalpha()
        ):
            return phrase
    return None


def _substitute_plural(question: str, phrase: str) -> str | None:
    """'they'/'them'/'their' replaced by the plural noun phrase (None: no such pronoun)."""
    for pattern, replacement in (
        (r"\b(?:their|theirs)\b", f"the {phrase}'"),
        (r"\b(?:they|them)\b", f"the {phrase}"),
    ):
        new, count = re.subn(pattern, replacement, question, count=1, flags=re.I)
        if count:
            return re.sub(r"\bthe the\b", "the", new, flags=re.I)
    return None


def _substitute(question: str, subject: _Subject) -> tuple[str, bool]:
    """Replace the first 'its'/'it'/'they' (not 'it is possible'-style filler) with the subject."""
    phrase = subject.phrase
    for pattern, replacement in (
        (r"\bit['’]s\b", f"the {phrase} is"),
        (r"\bits\b", f"the {phrase}'s"),
        (r"\btheir\b", f"the {phrase}'s"),
        (_IT.pattern, f"the {phrase}"),
        (r"\b(?:they|them)\b", f"the {phrase}"),
    ):
        new, count = re.subn(pattern, replacement, question, count=1, flags=re.I)
        if count:
            return re.sub(r"\bthe the\b", "the", new, flags=re.I), True
    return question, False


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _replace_words(text: str, old: str, new: str) -> str | None:
    pattern = r"(?<![\w-])" + re.escape(old) + r"(?:['’]s)?(?![\w-])"
    match = re.search(pattern, text)
    if match is None:
        return None
    suffix = "'s" if match.group(0).endswith(("'s", "’s")) else ""
    return text[: match.start()] + new + suffix + text[match.end() :]


_FRAGMENT = re.compile(
    r"^\s*(?:on|in|for|at|with|without|under|during|over)\s+(?:\S+\s*){1,5}\??\s*$", re.I
)
_PREPOSITION = re.compile(r"^(?:on|in|for|at|with|without|under|during|over|below|above)\s", re.I)


def _names_model(text: str, subject: _Subject) -> bool:
    """`text` names a model other than the subject ('RL14', 'Trikdis R11'), not a value with its
    unit ('10GE', '24V': a condition of the same question)."""
    words = [w for w, _, _ in _words(text)]
    return (
        0 < len(words) <= 3
        and _is_identifier(words[-1])
        and not _QUANTITY_WORD.match(_core(words[-1]))
        and compact(text).lower() != compact(subject.name).lower()
    )


_MODEL_CODE = re.compile(r"[A-Za-z]+\d+[A-Za-z]*")


def _sibling_model(text: str, subject: _Subject) -> bool:
    """`text` is a short model code like the one the subject's name ends with ('R11' after the
    'Trikdis RT2'); a code after a name ending in a number is its version ('V2' of the 'Ender
    3'), not another model."""
    words = [_core(w) for w, _, _ in _words(text)]
    last = _core(subject.name.split()[-1]) if subject.name.split() else ""
    return (
        len(words) == 1
        and _names_model(text, subject)
        and bool(_MODEL_CODE.fullmatch(words[0]))
        and bool(_MODEL_CODE.fullmatch(last))
    )


def _same_family(text: str, subject: _Subject) -> bool:
    """`text` is another model of the subject's family: its first part is the subject's ('Ender
    3 Pro' for 'Ender 3', 'SKR MINI E3 V3.0' for 'SKR MINI E3 V2.0', 'QSFP-100G-LR4' for
    'QSFP-100G-ER4L-A-FL') and every other word is a name, a code or a number ('the Ender 3 bed'
    is a part of the subject, not another model)."""
    words = [w for w, _, _ in _words(text)]
    if len(words) < 2 or len(words) > 5 or compact(text).lower() == compact(subject.name).lower():
        return False  # the family word alone ('the Ender') names no model of it
    first = re.split(r"[\s\-]", text.strip())[0].lower()
    if first != re.split(r"[\s\-]", subject.name.strip())[0].lower() or len(first) < 2:
        return False
    return all(
        _is_identifier(w) or w.isdigit() or w[:1].isupper() or w.isupper() for w in words[1:]
    )


def _shape(word: str) -> str:
    return re.sub(r"\d+(?:\.\d+)?", "#", word.upper())


def _same_shape_slot(value: str, previous: str, name: str = "") -> tuple[int, int] | None:
    """Where `previous` holds a value shaped like `value` ('100G QPSK' for '200G 8QAM', '10 km'
    for '40 km'): from that value's first word to the end of its phrase. None when `value` does
    not open with a number. A number of the subject's `name` is no value ('the 24 V version'
    after 'the Ender 3' is not 'the Ender 24 V version')."""
    words = _words(value)
    if not words or not words[0][0][:1].isdigit():
        return None
    shape = _shape(words[0][0])
    unit = _unit_after(value, words[0][2])
    taken = _name_span(previous, name)
    for word, start, stop in _words(previous):
        if taken and start < taken[1] and stop > taken[0]:
            continue
        if unit and _unit_after(previous, stop).lower() != unit.lower():
            continue  # '24 V' does not stand in for '72 MHz'
        if _shape(word) == shape and word.upper() != words[0][0].upper():
            end = re.search(
                r"\s+(?:on|in|for|at|with|of|to|and|or|versus|vs)\b|[?,;.!]|$", previous[start:]
            )
            assert end is not None
            return start, start + end.start()
    return None


_UNIT = re.compile(r"\s?(?P<unit>[A-Za-z°µΩ%]{1,4})\b")


def _unit_after(text: str, position: int) -> str:
    """The unit written right after a number ending at `position` ('V' in '24 V', 'km' in
    '10 km'); '' when a word of another kind follows ('3 Pro' is a name, not a unit)."""
    match = _UNIT.match(text, position)
    if match is None:
        return ""
    unit = match["unit"]
    return unit if unit.lower() in _UNITS else ""


_UNITS = frozenset(
    """v mv kv a ma ua µa w mw kw hz khz mhz ghz km m mm cm um µm nm ft in s ms us µs ns min h
    c f °c °f db dbm nm % kg g lb lbs oz mil awg bar psi kpa mpa ohm ω""".split()
)
"""Units a value is written with: a follow-up's value replaces a previous value of its unit."""


def _name_span(text: str, name: str) -> tuple[int, int] | None:
    """Where `text` writes `name` as whole words (None: it does not, or no name)."""
    if not name.strip():
        return None
    found = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text)
    return (found.start(), found.end()) if found else None


def _code_kind(code: str) -> str:
    """The letters before a code's first digit: 'E' for E04, 'USART' for USART1 ('' if none)."""
    match = re.match(r"([A-Za-z]+)\d", code)
    return match.group(1).upper() if match else ""


def _sibling_code(new: str, previous: str) -> str | None:
    """The identifier of `previous` that `new` (a lone identifier) stands in for: the first of
    the same kind ('E04' for 'E05', 'USART1' for 'USART2'); None when `new` is not a code or the
    previous question has none of its kind."""
    if not _is_identifier(new) or " " in new.strip():
        return None
    kind = _code_kind(new)
    if not kind:
        return None
    for word, _, _ in _words(previous):
        core = _core(word)
        if _is_identifier(core) and core.upper() != new.upper() and _code_kind(core) == kind:
            return core
    return None


_WORD_NUMBER = re.compile(r"^(?P<word>[A-Za-z]{2,})[ -]?\d+[A-Za-z]?$")


def _sibling_name(new: str, previous: str) -> str | None:
    """The name of `previous` that `new` (a word and a number: 'ender 5', 'Pin 7') stands in
    for: the same word with another number ('ender 3'), however it is cased; None otherwise."""
    match = _WORD_NUMBER.match(new.strip())
    if match is None:
        return None
    old = re.search(
        rf"(?<![\w-]){re.escape(match['word'])}[ -]?\d+[A-Za-z]?(?![\w-])", previous, re.I
    )
    if old is None or compact(old.group(0)) == compact(new):
        return None
    return old.group(0)


_BARE_PHRASE_WORDS = 4
"""At most this many words in a follow-up that is a noun phrase alone ('the slide pins?',
'torque spec?'): longer, it is more likely a sentence the rules do not parse."""


def _is_bare_phrase(question: str) -> bool:
    """A noun phrase alone ('the slide pins?', 'factory default?'): no question word, no verb
    or pronoun of a clause, at most `_BARE_PHRASE_WORDS` words."""
    words = [w for w, _, _ in _words(question)]
    if not 0 < len(words) <= _BARE_PHRASE_WORDS or _ASKS.match(question.strip()):
        return False
    if not question.rstrip().endswith("?") or not _is_noun_like(words[-1]):
        return False  # 'thanks', 'got it', 'never mind': no question about a thing
    return not any(
        w.lower() in _AUX
        or w.lower() in _NOT_ELLIPTICAL
        or w.lower() in _NEGATED_AUX
        or w.lower() in _NOT_A_PHRASE
        for w in words
    )


_NOT_A_PHRASE = frozenset("not no yes please never still ok okay thanks explain tell".split())
"""Words of a remark or a request about the answer ('not helpful?', 'explain please?'), not of
a noun phrase."""


def _one_question(text: str) -> bool:
    """`text` is one question of one clause: no second sentence, no ' - ' or ';' joining two."""
    body = text.strip().rstrip("?.! ")
    return not re.search(
        r"[?.!;]\s|\s[-–—]\s|,\s*(?:(?:and|but|or)\s+)?(?:how|what|why|which|where|when|who|"
        r"is|are|does|do|can|should)\b",
        body,
        re.I,
    )


def _is_plural_head(word: str) -> bool:
    """'bolts', 'pins', 'ones': a plural noun (not 'ss', 'us', 'is' endings: 'glass', 'bus')."""
    lowered = _core(word).lower()
    return (
        len(lowered) > 3
        and lowered.endswith("s")
        and not lowered.endswith(("ss", "us", "is"))
        and lowered.isalpha()
    )


def _other_things(bare: str, previous: str, subject: _Subject | None) -> str | None:
    """'and the slide pins?' after 'What torque do the caliper bolts on the M4 take?': other
    things of the same number as the ones the previous question asked a quantity of, so the
    quantity is kept and the things replaced ('What torque do the slide pins on the M4 take?');
    'the rear ones' are the rear caliper bolts. None when the previous question asked no
    quantity of plural things, or the follow-up names none."""
    words = bare.split()
    if not words or not _is_plural_head(words[-1]):
        return None
    things = _plural_topic(previous, subject)
    attribute = _asked_attribute(previous, subject)
    if not things or not attribute or compact(things) in compact(attribute):
        return None
    if words[-1].lower() == "ones":
        if len(words) < 2:
            return None  # 'the ones?' names nothing
        bare = " ".join(words[:-1] + [things])  # 'rear ones' -> 'rear caliper bolts'
    if compact(things).lower() == compact(bare).lower():
        return None
    return _replace_words(previous, things, bare)


def _another_name(text: str, subject: _Subject) -> bool:
    """`text` is a model's name, however typed ('Ender 5', 'ender 5', 'Ender 3 Pro'), other than
    the subject's."""
    typed = _typed_name_number(text)
    return compact(text).lower() != compact(subject.name).lower() and bool(
        _same_family(text, subject)
        or _NAME_NUMBER.fullmatch(text.strip())
        or (typed is not None and typed.group(0) == text.strip())
    )


def _part_of_name(word: str, subject: _Subject) -> bool:
    """`word` is one word of a subject's name of several ('E3' of 'SKR MINI E3 V2.0')."""
    names = [_core(w).lower() for w, _, _ in _words(subject.name)]
    return len(names) > 1 and word.lower() in names


def _swap_model(previous: str, subject: _Subject, name: str) -> str | None:
    """The previous question about model `name` instead of the subject: a name of the same family
    replaces the subject's words ('the R11' for 'the RT2'), another model the whole subject."""
    if _same_family(name, subject):
        return _replace_words(previous, subject.name, name)
    return _replace_model(previous, subject, name)


def _replace_model(previous: str, subject: _Subject, new: str) -> str | None:
    """`previous` with another model in the subject's place. The kind the subject was named with
    goes too ('the Trikdis RT2 telephone receiving module' -> 'the R11', not 'the R11 telephone
    receiving module': another model may be another kind); a part of it stays ("the STM32F103's
    internal temperature sensor" -> "the STM32F107's internal temperature sensor")."""
    phrase = subject.phrase
    last = compact(_core(subject.name.split()[-1])).lower() if subject.name.split() else ""
    variant = bool(last) and compact(new).lower().startswith(last)  # 'R11U' of the 'R11'
    appositive = (
        not variant
        and phrase != subject.name
        and phrase.startswith(subject.name)
        and not re.match(r"['’]s\b", phrase[len(subject.name) :])
    )
    if appositive:
        replaced = _replace_words(previous, phrase, new)
        if replaced:
            return replaced
    if variant and len(subject.name.split()) > 1:
        # 'Trikdis R11' -> 'Trikdis R11U': the brand stays with its variant.
        name = subject.name.rsplit(" ", 1)[0] + " " + _core(new.split()[-1])
        return _replace_words(previous, subject.name, name)
    return _replace_words(previous, subject.name, new)


def _elliptical(
    question: str, history: Sequence[Turn], subject: _Subject | None, *, again: bool = False
) -> str | None:
    """'And the U version?', 'What about the RL14?', 'and the rx power reading?': the previous
    question with its subject or topic replaced (None when the question is not elliptical).
    `again`: the follow-up asked the previous question about what it names ('is it the same on
    the R11?'), so a name there is another model, whatever its family."""
    if (
        not _CONNECTOR.match(question)
        and not _FRAGMENT.match(question)
        and len(_words(question)) > 4
    ):
        return None
    match = _ELLIPTICAL.match(question)
    if match is not None:
        np = (match.group("np") or match.group("np2") or match.group("pp") or "").strip()
    elif _is_bare_phrase(question):
        np = question.strip().rstrip("?.! ").strip()  # 'the slide pins?', 'rx power reading?'
    else:
        return None
    np_words = [w for w, _, _ in _words(np)]
    if not np_words or any(w.lower() in _AUX or w.lower() in _NOT_ELLIPTICAL for w in np_words):
        return None  # it has a verb or a clause of its own: not elliptical
    if len(np_words) > 8:
        return None
    previous = _previous_with_topic(history).rstrip()
    bare = re.sub(r"^(?:the|a|an)\s+", "", np, flags=re.I)
    preposition = _PREPOSITION.match(np)
    variant_after = np[preposition.end() :].strip() if preposition else ""
    variant_after = re.sub(r"^(?:the|a|an)\s+", "", variant_after, flags=re.I)
    if preposition and subject is not None and _VARIANT.match(variant_after):
        # 'and on the 24 V one?', 'for the U version?': a variant of the subject, as without
        # the preposition.
        preposition, bare = None, variant_after
    if preposition:
        word = preposition.group(0).strip()
        target = np[preposition.end() :].strip()
        target_bare = re.sub(r"^(?:the|a|an)\s+", "", target, flags=re.I)
        same = re.search(
            rf"\b{re.escape(word)}\s+(?P<obj>[^?,;.!]+?)(?=\s+(?:on|in|for|at|with|of|to)\b|[?,;.!]|$)",
            previous,
            re.I,
        )
        holds_subject = (
            subject is not None and subject.name.lower() in same["obj"].lower() if same else False
        )
        names_code = any(_is_identifier(w) for w, _, _ in _words(same["obj"])) if same else False
        target_words = [w for w, _, _ in _words(target_bare)]
        if (
            same
            and not holds_subject
            and _one_question(previous)
            and (not names_code or (target_words and _is_identifier(target_words[-1])))
        ):
            # 'and at 10GE?' after '… at 25GE?': the same slot, a new value.
            return previous[: same.start("obj")] + target + previous[same.end("obj") :]
        if same and subject is not None and target_bare[:1].isupper():
            # 'and with Acro-Set?' after '… with Set-Right?': another name in the subject's slot.
            replaced = _replace_words(previous, subject.name, target_bare)
            if replaced:
                return replaced
        if subject is not None and _names_model(target_bare, subject):
            # 'and for the RL14?': the new model replaces the subject.
            replaced = _replace_model(previous, subject, target_bare)
            if replaced:
                return replaced
        if again and subject is not None and _another_name(target_bare, subject):
            # 'is it the same on the ender 5?', 'does that apply to the Ender 3 Pro?': the
            # previous question of that model, not of the old one narrowed to it.
            replaced = _swap_model(previous, subject, target_bare)
            if replaced:
                return replaced
        if _one_question(previous):
            # 'what about on the 48-pin package?': the previous question, narrowed.
            return f"{previous.rstrip('?.! ')} {np}?"
        # Appended to a question of several clauses it would read as part of the last one
        # ('… before I plug it in in Marlin?'): asked on its own, with the conversation.
        rewritten = f"What about {np}?"
        carried = ([subject.phrase] if subject else []) + _topic_phrases(
            previous, rewritten, skip=subject.phrase if subject else ""
        )
        return f"{rewritten} ({', '.join(carried)})" if carried else rewritten
    # 'the 24 V version' is a variant of the subject (below), not a value of the question.
    slot = (
        None
        if _VARIANT.match(bare)
        else _same_shape_slot(bare, previous, subject.name if subject else "")
    )
    if slot is not None:
        # 'what about 200G 8QAM?' after '… at 100G QPSK?': a value like the old one replaces it.
        return previous[: slot[0]] + bare + previous[slot[1] :]
    sibling = _sibling_code(bare, previous)
    if sibling is not None and subject is not None and _part_of_name(sibling, subject):
        sibling = None  # the 'E3' of the 'SKR MINI E3 V2.0' is its name, not a code in it
    if sibling is not None:
        # 'And E05?' after '… error E04 …': a code of the same kind replaces the old one.
        replaced = _replace_words(previous, sibling, bare)
        if replaced:
            return replaced
    family = _sibling_name(bare, previous)
    if family is not None:
        # 'what about the ender 5?' after '… on the ender 3?': the same family, another number.
        replaced = _replace_words(previous, family, bare)
        if replaced:
            return replaced
    if subject is not None:
        variant = _VARIANT.match(bare)
        tag = variant.group("tag") if variant else ""
        # A variant is named by a code, a letter or a rating ('U', '24 V', 'LR4'), not by an
        # adjective ('the red one' is another part, not a version of the subject).
        if (
            variant
            and not _is_identifier(bare)
            and (tag.isupper() or any(c.isdigit() for c in tag))
        ):
            if len(tag) == 1 and tag.isalpha() and subject.name[-1:].isdigit():
                # 'the U version' of the R11 is the R11U.
                new_name = f"{subject.name}{tag.upper()}"
                replaced = _replace_words(previous, subject.name, new_name)
            elif tag.isalpha():
                # 'the LR version' of the TS2017-S31C-SO is not a 'TS2017-S31C-SOLR': the
                # version named as the user did, of the subject.
                replaced = _replace_words(previous, subject.name, f"{bare} of the {subject.name}")
                if replaced:
                    replaced = re.sub(r"\bthe the\b", "the", replaced, flags=re.I)
            else:
                replaced = _replace_words(previous, subject.name, f"{tag} {subject.name}")
            if replaced:
                return replaced
        if (
            any(_is_model(w) for w in np_words)
            or _sibling_model(bare, subject)
            or _same_family(bare, subject)
            or (again and _names_model(bare, subject))
        ):
            # A new model in the same family replaces the old one ('the R11' after the RT2,
            # 'the Ender 3 Pro' after the Ender 3): it is not glued to it.
            replaced = _swap_model(previous, subject, bare)
            if replaced:
                return replaced
    # A topic like the previous one ('rx power reading' for 'DDM temperature reading').
    head = _core(np_words[-1]).lower()
    for phrase in _noun_phrases(previous, skip=subject.name if subject else ""):
        if (
            phrase.split()[-1].lower().rstrip("s") == head.rstrip("s")
            and phrase.lower() != bare.lower()
        ):
            replaced = _replace_words(previous, phrase, bare)
            if replaced:
                return replaced
    swapped = _other_things(bare, previous, subject)
    if swapped:
        return swapped
    if subject is not None and compact(subject.name) not in compact(bare):
        rewritten = f"What about the {bare} of the {subject.phrase}?"
        topic = _topic_phrases(previous, rewritten, skip=subject.phrase)
        return f"{rewritten} ({', '.join(topic)})" if topic else rewritten
    return None


def _topic_phrases(
    previous: str, rewritten: str, *, skip: str, taken: Sequence[str] = ()
) -> list[str]:
    """At most MAX_CONTEXT_PHRASES noun phrases of the previous question (without the words of
    `skip`) that the rewrite does not already say, longest first: the topic a follow-up carries
    in parentheses."""
    asked = {w.lower() for w, _, _ in _words(rewritten)}
    phrases = _noun_phrases(previous, skip=skip)
    # The longest phrases name the topic best ('aluminum terminal lug' over 'full').
    ranked = sorted(phrases, key=lambda p: (-min(len(p.split()), 3), phrases.index(p)))
    chosen: list[str] = []
    for phrase in ranked:
        words = phrase.split()
        if all(w.lower() in asked for w in words) or phrase in taken or phrase in chosen:
            continue
        if len(words) == 1 and len(words[0]) <= 2:
            continue
        chosen.append(phrase)
        if len(chosen) >= MAX_CONTEXT_PHRASES:
            break
    return chosen


_DEMONSTRATIVE = re.compile(r"\b(?:that|this|the same)\s+(?P<head>[A-Za-z][A-Za-z\-]{2,})\b", re.I)
_ANSWER_PHRASE = r"(?<![\w-])(?P<mod>[A-Za-z][\w\-]*)\s+{head}\b"


def _head_matches(phrase: str, head: str) -> bool:
    last = _core(phrase.split()[-1]).lower()
    return last == head or last.rstrip("s") == head.rstrip("s")


def _demonstrative_antecedent(head: str, turn: Turn) -> str | None:
    """What 'that <head>' stands for: the previous question's noun phrase with that head word
    ('that formula' -> 'the Projecta-Set formula'), else the one named <head> the previous answer
    mentions ('Standby mode': a capitalised name before the head word); None when there is none,
    or several (an answer naming Sleep, Stop and Standby mode does not say which was meant)."""
    head = head.lower()
    for phrase in reversed(_noun_phrases(_previous_query(turn))):
        if len(phrase.split()) > 1 and _head_matches(phrase, head):
            return phrase
    found = {
        f"{m['mod']} {m.group(0).split()[-1]}"
        for m in re.finditer(_ANSWER_PHRASE.format(head=re.escape(head)), turn.answer, re.I)
        if m["mod"][:1].isupper() and _is_noun_like(m["mod"])
    }
    by_key = {f.lower(): f for f in found}
    return next(iter(by_key.values())) if len(by_key) == 1 else None


def _resolve_demonstrative(question: str, turn: Turn) -> str:
    """'What can wake it from that mode?' -> '… from the Standby mode?' when the conversation
    names exactly one such mode; the question unchanged otherwise."""
    match = _DEMONSTRATIVE.search(question)
    if match is None or not _is_noun_like(match["head"]) or match["head"].lower() == "one":
        return question
    antecedent = _demonstrative_antecedent(match["head"], turn)
    if antecedent is None:
        return question
    return question[: match.start()] + f"the {antecedent}" + question[match.end() :]


_YES_NO = re.compile(
    r"^\s*(?:does|do|did|is|are|was|were|has|have|can|could|will|would|should)\b", re.I
)
_INDEFINITE = re.compile(r"\b(?:a|an)\s+(?P<np>[^?,;.!]+)", re.I)


def _introduced_object(previous: str) -> str | None:
    """The noun phrase a yes/no question introduces with 'a'/'an' ('a SIM card' in 'Does it come
    with a SIM card?'): a new entity, which a following 'it' refers to ('Where does it go?')."""
    if not _YES_NO.match(previous):
        return None
    match = _INDEFINITE.search(previous)
    if match is None:
        return None
    words: list[str] = []
    for word, _, _ in _words(match["np"]):
        if not _is_noun_like(word) or _is_participle(word) or len(words) >= MAX_PHRASE_WORDS:
            break
        words.append(word)
    return " ".join(words) or None


_QUANTITY_PREDICATE = re.compile(
    r"\b(?P<ref>it|that)(?:['’]s|\s+(?:is|was|gets|goes|reads|runs|drops|falls|rises|stays))\s+"
    r"(?:too\b|above\b|below\b|over\b|under\b|out\s+of\b|higher\b|lower\b|off\s+by\b|outside\b)",
    re.I,
)
"""'it's too high', 'that reads below …', 'it goes out of range', 'it's off by 2 mm': a value
compared with a limit ('what if it's off?' is the device, not a value)."""
_VALUE_VERB = re.compile(
    r"\b(?:check|measure|adjust|set|change|increase|decrease|raise|lower|calibrate|configure|"
    r"verify|modify|read|reduce)\s+(?P<ref>it|that)\b(?!\s+(?:up|to\b))",
    re.I,
)
"""'how do I check it?', 'can I adjust that?': verbs done to a value or a setting ('set it up',
'set it to' are done to the device)."""
_ASKS_VALUE = re.compile(
    r"^\s*(?:what|which|how\s+much|how\s+many)(?:['’]s|\s+(?:is|are|was)\b)?\s+"
    r"(?:the\s+|a\s+|an\s+)?(?P<np>[^?,;.!]+)",
    re.I,
)


def _asked_attribute(previous: str, subject: _Subject | None) -> str | None:
    """The quantity a 'what/which …' question asked for ('supply voltage' in 'What supply
    voltage does the RT2 accept?', 'max print speed' in "What's the max print speed on the Ender
    3?"): its first noun phrase, when it is not the subject; None for other questions."""
    match = _ASKS_VALUE.match(previous)
    if match is None:
        return None
    words: list[str] = []
    for word, _, _ in _words(match["np"]):
        lowered = _core(word).lower()
        if lowered in _AUX or _is_stop(word) or _is_participle(word):
            break
        if lowered in _NOT_NOUNS and lowered not in _SIZE_WORDS:
            break
        words.append(word)
    phrase = " ".join(words[-MAX_PHRASE_WORDS:])
    if not words or (subject is not None and compact(subject.name) in compact(phrase)):
        return None
    if re.match(r"\s*how\s+many\b", previous, re.I):
        return f"number of {phrase}"  # 'How many rings …' asked a number
    return phrase


_SIZE_WORDS = frozenset("max min maximum minimum typical default first last".split())
"""Words of `_NOT_NOUNS` that open the name of a quantity ('max print speed')."""


_ASK_AGAIN = frozenset("huh eh hm hmm what sorry pardon again".split())
"""Words that alone ask to hear the previous answer again ('huh?', 'sorry, what?', 'again?'); a
follow-up made only of these, of the phrases of `_ASK_AGAIN_PHRASES` (and of a leading
'and'/'ok', and 'please') asks nothing of its own. 'why?', 'how?' and "what's that?" are not
among them: they ask about the previous answer. Nor are 'that', 'I', 'your' or 'me' by
themselves ('and that?' asks about something the answer named, as 'and this?' does)."""
_ASK_AGAIN_PHRASES = re.compile(
    r"\b(?:(?:i\s+)?beg\s+your\s+pardon|pardon\s+me|excuse\s+me|come\s+again|say\s+what"
    r"|(?:(?:could|can|would)\s+you\s+)?(?:please\s+)?(?:say|repeat)\s+(?:that\s+)?again"
    r"|(?:(?:could|can|would)\s+you\s+)?(?:please\s+)?repeat(?:\s+that)?)\b"
)
"""The set phrases of a request to hear it again ('I beg your pardon?', 'pardon me?', 'excuse
me?', 'come again?', 'say what?', 'say that again?', 'could you repeat that?'): the only places
'that', 'I', 'your' and 'me' ask again."""


def asks_again(question: str) -> bool:
    """The follow-up asks nothing of its own ('and?', 'huh?', 'sorry, what?', 'repeat that
    please?'): no word, or only words of `_ASK_AGAIN` and phrases of `_ASK_AGAIN_PHRASES`, with
    'please' beside them (not alone). The previous question is asked again."""
    rest = _LEAD.sub("", question, count=1).lower().replace("’", "'")
    phrases = len(_ASK_AGAIN_PHRASES.findall(rest))
    words = [w for w, _, _ in _words(_ASK_AGAIN_PHRASES.sub(" ", rest))]
    asked = [w for w in words if w != "please"]
    if not all(w in _ASK_AGAIN for w in asked):
        return False
    return bool(asked) or phrases > 0 or not words


def condense_locally(question: str, history: Sequence[Turn]) -> str:
    question = " ".join(question.split())
    if not question or not is_followup(question, history):
        return question
    if asks_again(question):
        # 'and?', 'huh?', 'come again?': nothing of its own is asked, so it is the previous
        # question again (not '? (Ender 3, bed)' nor 'What about the huh of the Ender 3?').
        return history[-1].standalone_query or history[-1].question
    subject = _history_subject(history)
    again = _same_question_for(question)
    if again is not None:
        # 'is it the same on the R11?' asks 'what about the R11?': the previous question about it.
        question = f"what about {again}?"
    elliptical = _elliptical(question, history, subject, again=again is not None)
    if elliptical:
        return elliptical

    stripped = _LEAD.sub("", question, count=1).strip() or question
    own_models = [w for w, _, _ in _words(stripped) if _is_model(w)]
    known = compact(subject.name) if subject else ""
    if (
        own_models
        and subject is not None
        and all(compact(_core(m)) not in known for m in own_models)
    ):
        # The follow-up names its own model: it stands alone (the old subject is not glued on),
        # with the previous topic when it refers back to it ('Is that the same for the R11?').
        if _REFERS_BACK.search(stripped):
            topic = _noun_phrases(_previous_with_topic(history), skip=subject.phrase)
            topic = [p for p in topic if p.lower() not in stripped.lower()][:MAX_CONTEXT_PHRASES]
            if topic:
                return f"{_capitalise(stripped)} ({', '.join(topic)})"
        return _capitalise(stripped)
    stripped = _resolve_demonstrative(stripped, history[-1])
    previous = _previous_with_topic(history)
    introduced = _introduced_object(previous) if _IT.search(stripped) else None
    if introduced and subject and compact(introduced) not in compact(subject.phrase):
        # 'Where does it go?' after 'Does it come with a SIM card?': the card, on the subject.
        rewritten = _IT.sub(f"the {introduced}", stripped, count=1)
        return f"{_capitalise(rewritten)} ({subject.name})"
    measured = _QUANTITY_PREDICATE.search(stripped) or _VALUE_VERB.search(stripped)
    attribute = _asked_attribute(previous, subject) if measured else None
    if measured and attribute:
        # 'what if it's too high?', 'how do I check it?' after 'What supply voltage does the RT2
        # accept?': the value asked about is too high, or checked, not the RT2.
        after = stripped[measured.end("ref") :]
        verb = " are" if _is_plural_head(attribute.split(" of ")[0].split()[-1]) else " is"
        after = re.sub(r"^['’]s\b", verb, after)
        rewritten = stripped[: measured.start("ref")] + f"the {attribute}" + after
        rewritten = _capitalise(re.sub(r"\bthe the\b", "the", rewritten, flags=re.I))
        skip = subject.phrase if subject else ""
        carried = ([subject.phrase] if subject else []) + _topic_phrases(
            previous, rewritten, skip=skip
        )
        return f"{rewritten} ({', '.join(carried)})" if carried else rewritten
    plural = _plural_topic(previous, subject) if _PLURAL_PRONOUN.search(stripped) else None
    by_plural = _substitute_plural(stripped, plural) if plural else None
    if by_plural is not None:
        # 'How often do I check them?' after '… the caliper bolts on the M4 …': the bolts, and
        # the subject goes in the context below.
        rewritten, substituted = by_plural, False
    elif subject:
        rewritten, substituted = _substitute(stripped, subject)
    else:
        rewritten, substituted = stripped, False
    if _CONNECTOR.match(question) and not _ASKS.match(rewritten):
        # 'and its current draw?' is a question about a noun phrase: say so.
        rewritten = "What about " + re.sub(r"^The\b", "the", rewritten)
    rewritten = _capitalise(rewritten)
    context: list[str] = []
    if subject and not substituted and compact(subject.name) not in compact(rewritten):
        # The whole subject phrase: "Which one can't use DMA?" is about the STM32F103's USARTs.
        context.append(subject.phrase)
    unresolved = bool(re.search(r"\b(that|this|those|these|one)\b", stripped, re.I))
    short = _content_count(stripped) <= 2
    if short or unresolved or subject is None or not substituted:
        skip = subject.phrase if subject else ""
        context += _topic_phrases(previous, rewritten, skip=skip, taken=context)
    if not context:
        return rewritten
    return f"{rewritten} ({', '.join(context)})"


def about_another_model(question: str, history: Sequence[Turn]) -> str | None:
    """The previous question about the model a follow-up names ('and the R11?' after 'How do I
    level the bed on the Ender-3?' -> 'How do I level the bed on the R11?'), as for 'is it the same
    on the R11?'. For a follow-up known to name another model: the rules alone cannot tell the
    R11 receiver from a part R11 of the subject (a resistor on its board), so `condense_locally`
    reads a short code as a part ('What about the R11 of the Ender-3?'), and the caller, which
    can look in the manuals, asks this instead when the previous manuals never write the name
    (`rag.answer._condense`). None when the follow-up is not elliptical or there is no subject."""
    question = " ".join(question.split())
    subject = _history_subject(history)
    if not question or subject is None:
        return None
    again = _same_question_for(question)
    asked = f"what about {again}?" if again is not None else question
    return _elliptical(asked, history, subject, again=True)


class LocalCondenser:
    name = "local-rules"

    async def condense(self, *, question: str, history: Sequence[Turn]) -> str:
        return condense_locally(question, history)
