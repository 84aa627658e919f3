"""Words of technical text: stop words, a small stemmer, content terms and compact keys.

One copy for the whole app: the reranker, the extractive answerer, the condenser and the evidence
decision all split text the same way.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing done down during each few for from further
    had has have having he her here hers him his how i if in into is it its itself just me more most
    my no nor not now of off on once only or other our ours out over own same she should so some such
    than that the their theirs them then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your yours
    what's whats it's i'm i've don't doesn't isn't can't cannot also get gets got use used using
    tell mean means need needs want please manual manuals say says said show shows let one ones
    may might must shall much many way thing things instead still else till til""".split()
)
"""English function words plus question filler that never decides which passage answers."""

_TOKEN_RE = re.compile(r"[^\W_]+(?:[.,:/+\-][^\W_]+)*[+\-]?")
"""A word: letters and digits of any alphabet (`\\w` without '_'; on ASCII text exactly the
[A-Za-z0-9] it was), compounds joined by . , : / + - kept whole. Before, only ASCII letters
counted: '5 µs', '10 µA', '100 µF' were the terms 's', 'a', 'f' (a question's possessive "'s"
then matched a table's 'µs'), and 'Ω', 'Résistance' or a Greek letter fell out or cut the word
(`raw_tokens` spells the Greek symbols)."""
_SUFFIXES = ("ingly", "edly", "ings", "ing", "ies", "ied", "es", "ed", "ly", "s", "e")


_LY_AFTER = frozenset("cdeghkmnrtw")
"""Letters an adverb's stem ends in before '-ly' ('quickly', 'properly', 'completely': the
Snowball English stemmer's 'li' endings, and 'w': 'slowly'); '-ally' adverbs ('normally') too.
Other words end in '-ly' without being an adverb of a shorter word: 'supply', 'apply', 'reply',
'assembly', 'family', 'daily', 'anomaly' ('supply' is not 'supp', which matched 'supposed')."""
_NOT_ADVERBS = frozenset({"early"})


_SILENT_E_SUFFIXES = frozenset({"ingly", "edly", "ings", "ing", "es", "ed", "e"})
"""Suffixes that take a word's silent 'e' with them ('lanes', 'timing', 'timings', 'coded',
'lane'): a short stem they leave is given its 'e' back (`_restores_e`), so 'ratings', 'rating'
and 'rate' meet ('ratings' was 'rat')."""
_VOWELS = frozenset("aeiou")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A deliberately small suffix stripper: 'pins'/'pin', 'lacing'/'lace', 'clears'/'clear',
    'quickly'/'quick'. A short stem keeps its silent 'e' ('lanes', 'lane' -> 'lane'; 'timing' ->
    'time'), so a word never ends as another, shorter one ('lan' is the LAN, 'not' a stop word)."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith("ss"):
                return word
            if suffix == "ly" and not _is_adverb(word):
                continue
            base = word[: -len(suffix)]
            if suffix == "ed" and base.endswith("e"):
                return word if _is_eed_word(word) else stem(word[:-1])
            if base.endswith("ee") and len(base) >= 4:
                return base[:-1]  # 'agreeing', 'guaranteeing': the '-ee' word's stem
            if suffix in ("ies", "ied"):
                return base + "y"
            if suffix in _SILENT_E_SUFFIXES and _restores_e(base):
                return base + "e"
            return base
    return word


_EED_WORDS = ("ceed", "speed", "bleed", "seed", "feed", "need", "weed", "deed", "breed", "steed")
"""Endings of the '-eed' words that are no '-ed' form of a longer word: 'exceed', 'proceed',
'succeed', 'airspeed', 'nosebleed', 'linseed', 'overfeed', 'indeed'."""
_EED_PAST = frozenset({"freed", "treed"})
"""The short '-eed' words that are an '-ee' word's '-ed' form ('free' + 'd')."""


def _is_eed_word(word: str) -> bool:
    """Whether a word ending in '-eed' is a word of its own ('speed', 'exceed', 'bleed', 'seed':
    not 'spe-ed', and not 'see' + 'd'), not the '-ed' form of an '-ee' word ('agreed',
    'guaranteed', 'refereed', 'freed'): a short one (five letters at most: 'speed', 'greed',
    'creed'), but 'freed' and 'treed', or one ending in '-ceed' or a short one's ending
    ('airspeed', 'indeed'). The '-ee' word's forms stem as it does: 'agree', 'agreed', 'agrees',
    'agreeing' -> 'agre' (the '-ed after e' guard alone left 'guaranteed' whole, 'guarantee'
    'guarante')."""
    if len(word) <= 5:
        return word not in _EED_PAST
    return word.endswith(_EED_WORDS)


def _consonant(word: str, i: int) -> bool:
    """Whether word[i] is a consonant: 'y' is one only at the start or after a vowel ('type')."""
    if word[i] in _VOWELS:
        return False
    return word[i] != "y" or i == 0 or not _consonant(word, i - 1)


def _restores_e(base: str) -> bool:
    """Whether a stem left by a silent-'e' suffix gets its 'e' back: the Porter stemmer's rule, a
    stem of one vowel group ending consonant-vowel-consonant ('lan', 'tim', 'plan', 'typ'), but
    not when that consonant is w, x, y ('fixed', 'sewing', 'keyed') or s ('buses', 'gases': the
    '-es' of a plural, and 'fuse'/'fused' stay 'fus' together). Longer stems lose the 'e' either
    way ('rotate'/'rotating' -> 'rotat'), and 'opened'/'entered' are 'open'/'enter'."""
    n = len(base)
    if n < 3 or base[-1] in "wxys":
        return False
    if not (_consonant(base, n - 1) and not _consonant(base, n - 2) and _consonant(base, n - 3)):
        return False
    # Porter's measure m: the number of vowel-group -> consonant-group changes.
    groups = 0
    for i in range(1, n):
        if _consonant(base, i) and not _consonant(base, i - 1):
            groups += 1
    return groups == 1


def _is_adverb(word: str) -> bool:
    """Whether a word ending in '-ly' is an adverb made of a shorter word ('quickly')."""
    base = word[:-2]
    return word not in _NOT_ADVERBS and (base[-1] in _LY_AFTER or base.endswith("al"))


def raw_tokens(text: str) -> list[str]:
    """Lower-cased word tokens; compounds like `qsfp-100g-er4l` or `12,6` stay whole. Text
    beyond ASCII is read in its compatibility forms (NFKC, as ingestion stores a manual's text:
    the micro sign is mu, the ohm sign omega, 'ﬁ' is 'fi', 'mm²' is 'mm2'), and a token with a
    Greek symbol in it is spelled as `spell_greek` spells it, as the attribute check reads the
    manuals: '5 µs' -> '5', 'us' (as typed without the sign), '10 kΩ' -> 'kohm', 'ΔV' ->
    'deltav'; a word of Greek letters only ('αντίσταση') stays a word."""
    if text.isascii():
        return [t.lower() for t in _TOKEN_RE.findall(text)]
    text = _DIAMETER_RE.sub(_drop_diameter, _compatible(text))
    return [_spell_symbols(t.lower()) for t in _TOKEN_RE.findall(text)]


_DIAMETER_RE = re.compile(r"((?<=[^\W_])[.,:/+\-])?[ØøΦφ⌀](?=\d)")
"""A diameter sign before a number ('Ø10', '⌀10', a Chinese drawing's 'Φ10'; NFKC makes 'ϕ' a
'φ'): Ø and Φ are letters, so `_TOKEN_RE` glued them to the number ('ø10', 'phi10') and a
question's '10 mm shaft' did not meet the drawing's 'Ø10'. Before a letter they are letters of a
word ('Ørsted', 'Φάση'), and after a number a symbol of its own ('3Φ', three-phase)."""


def _drop_diameter(match: re.Match[str]) -> str:
    """The sign as a blank, or dropped after a compound's joiner ('Ø10-Ø12' -> ' 10-12')."""
    return match.group(1) or " "


def _compatible(text: str) -> str:
    """NFKC (ASCII is left as it is)."""
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def _is_greek(ch: str) -> bool:
    return "\u0370" <= ch <= "\u03ff" or "\u1f00" <= ch <= "\u1fff"


def _spell_symbols(token: str) -> str:
    """A token with a Greek letter used as a symbol ('μs', 'kω', 'δv', 'ω'), spelled
    (`spell_greek`); ASCII tokens and words of two or more Greek letters as they are."""
    if token.isascii() or not any(_is_greek(ch) for ch in token):
        return token
    if len(token) > 1 and all(_is_greek(ch) for ch in token if ch.isalnum()):
        return token
    return spell_greek(token)


def terms(text: str, *, parts: bool = True) -> list[str]:
    """Content terms in order: stop words dropped, stemmed; compounds like `qsfp-100g-er4l` also
    yield their parts (`parts=False` keeps only the compound, so one name counts once)."""
    return list(_terms(text, parts))


@lru_cache(maxsize=8192)
def _terms(text: str, parts: bool) -> tuple[str, ...]:
    """Cached: the same chunks come back as candidates question after question."""
    out: list[str] = []
    for token in raw_tokens(text):
        if token in STOPWORDS:
            continue
        pieces = re.split(r"[.,:/+\-]", token)
        if len(pieces) > 1:
            out.append(token)
            if parts:
                out.extend(stem(p) for p in pieces if len(p) >= 2 and p not in STOPWORDS)
        else:
            out.append(stem(token))
    return tuple(out)


_CONTRACTION_RE = re.compile(
    r"\b(won|can|shan)['’]t\b|\b(\w+)n['’]t\b|(\w)['’](?:s|re|ve|ll|d|m)\b", re.I
)


def _expand(match: re.Match[str]) -> str:
    if match.group(1):
        return {"won": "will", "can": "can", "shan": "shall"}[match.group(1).lower()] + " not"
    if match.group(2):
        return f"{match.group(2)} not"
    return match.group(3)


def expand_contractions(text: str) -> str:
    """Contractions written out or dropped: "won't" -> 'will not', "doesn't" -> 'does not',
    "it's", "they're", "f103's" -> 'it', 'they', 'f103'. Split at the apostrophe they would give
    content words that are none ('won', 'don', 't', 's')."""
    return _CONTRACTION_RE.sub(_expand, text)


_MEASURE_WORDS = (
    "long far hot cold big small large fast slow quick quickly soon often frequently heavy wide "
    "tall high low thick thin deep loud old tight close warm strong hard full accurate precise "
    "sensitive many much"
).split()
"""Words that after 'how' name a measure ('how long', 'how tight'); any other word is kept ('how
calibrate the z probe', 'how reset alarm'). Every 'how X' of the five tuning sets with X no
auxiliary, 'many', 'much' or 'else' (54 questions: long 17, far 11, hot 5, fast 4, big 4, tight,
strong, full, accurate 2 each, thick, sensitive, quick, hard, deep 1 each) is among them."""
_HOW_MEASURE_RE = re.compile(rf"\bhow\s+(?:{'|'.join(_MEASURE_WORDS)})\b", re.I)


def strip_how_measure(text: str) -> str:
    """'How long', 'how far', 'how strong' -> 'how': the word after 'how' names the measure the
    question asks for (a duration, a distance), which a manual states as a value ('2000 ms'),
    not as that word. Only a measure word (`_MEASURE_WORDS`): a telegraphic 'how calibrate the z
    probe', 'how reset alarm' keeps its verb."""
    return _HOW_MEASURE_RE.sub("how", text)


def is_function_word(word: str) -> bool:
    """A stop word or an inflected form of one ('tells', 'shows', 'wants', 'uses')."""
    return word in STOPWORDS or stem(word) in STOPWORDS


@lru_cache(maxsize=65536)
def compact(text: str) -> str:
    """Upper-case letters and digits only: 'QSFP-100G ER4L' -> 'QSFP100GER4L'."""
    return re.sub(r"[^A-Z0-9]", "", text.upper())


_GREEK_NAMES = {
    "α": "alpha",
    "β": "beta",
    "γ": "gamma",
    "δ": "delta",
    "ε": "epsilon",
    "θ": "theta",
    "λ": "lambda",
    "μ": "u",  # micro: 'μA' and the micro sign's 'µA' as a technician types them, 'uA'
    "µ": "u",
    "π": "pi",
    "ρ": "rho",
    "σ": "sigma",
    "τ": "tau",
    "φ": "phi",
    "ω": "ohm",
}


def spell_greek(text: str) -> str:
    """Greek letters as their names, as a technician types them ('ΘJA' -> 'thetaJA', 'ΔV' ->
    'deltaV'); omega, a resistance's unit in technical text, as 'ohm' ('10 kΩ' -> '10 kohm'); mu
    and the micro sign as 'u' ('10 μs' -> '10 us', as typed on a keyboard without them)."""
    if text.isascii():
        return text
    return "".join(_GREEK_NAMES.get(ch.lower(), ch) for ch in text)


_GLUED_UNIT_RE = re.compile(r"\d+(?:[.,]\d+)*([a-z]{2,4})")
"""A value with its unit glued on, as a data sheet writes it ('20km', '13.0db', '100ma'), a
micro or ohm sign spelled first ('100µf' -> '100uf', `raw_tokens`)."""
JOIN_MIN = 3
"""Letters each of two adjacent words needs for the pair to count as one word: 'hot end' ->
'hotend', 'min temp' -> 'mintemp', 'bit rate' -> 'bitrate'; shorter pieces ('ever y', 'in to')
join into words of their own."""


def glued_unit(token: str) -> str | None:
    """The unit of a lower-case value written with its unit glued on ('13.0db' -> 'db'): a word
    of the text too ('how many dB …'), in the form `raw_tokens` gives it ('100µf' -> 'uf')."""
    if not token.isascii():
        token = _spell_symbols(_compatible(token))
    match = _GLUED_UNIT_RE.fullmatch(token)
    return match.group(1) if match else None


def joined_words(tokens: list[str]) -> list[str]:
    """Adjacent lower-case words written as one ('hot end' -> 'hotend'): a technician types a
    manual's two-word term as one word ('hotend', 'MINTEMP', 'bitrate')."""
    return [
        first + second
        for first, second in zip(tokens, tokens[1:], strict=False)
        if min(len(first), len(second)) >= JOIN_MIN and (first + second).isalpha()
    ]
