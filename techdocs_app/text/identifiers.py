"""Identifiers in technical text: part numbers, model codes, fault/event codes, register and pin names.

They are matched exactly (after `normalize_identifier`) by the retrieval's identifier arm, where
embeddings and stemmed full text are weakest ("E302", "CFP2-LIC-UPG-200G", "PLS[2:0]").

A token counts as an identifier when it mixes letters and digits (STM32F103RCT6, PA9, E130), is a
digit group joined to letters by a hyphen (4471-A23), carries a bit range (PLS[2:0]), or is an
upper-case name joined by "_" (USART1_TX). Plain words, plain numbers, quantities with units
(12V, 150mA, 2.4GHz, 100mm) and dates are not identifiers.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from functools import cache

from techdocs_app.text.words import compact

_TOKEN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_\-./+#]*[A-Za-z0-9])?(?:\[\d+(?::\d+)?\])?")

_UNITS = (
    "v|mv|kv|uv|µv|μv|a|ma|ua|µa|μa|na|w|mw|kw|uw|µw|hz|khz|mhz|ghz|ohm|kohm|mohm|f|pf|nf|uf|µf|μf|"
    "h|mh|uh|µh|μh|s|ms|us|µs|μs|ns|ps|min|h|mm|cm|m|km|um|µm|μm|nm|in|ft|mil|mils|g|kg|mg|lb|lbs|"
    "oz|nm|n|kn|c|°c|f|k|db|dbm|dbi|bps|kbps|mbps|gbps|kb|mb|gb|tb|kbyte|kbytes|mbit|gbit|rpm|pa|"
    "kpa|mpa|bar|psi|ah|mah|wh|kwh|va|pcs|x|st|nd|rd|th|gbd|gbaud|pin|pins|bit|bits|byte|bytes|lux"
)
_QUANTITY = re.compile(rf"^[+\-]?\d+(?:[.,]\d+)?(?:{_UNITS})$", re.I)
_RANGE_QUANTITY = re.compile(rf"^\d+(?:[.,]\d+)?(?:-\d+(?:[.,]\d+)?)+(?:{_UNITS})?$", re.I)
_DATE = re.compile(
    r"^(?:\d{4}-\d{2}-\d{2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}[./]\d{1,2}[./]\d{1,2})$"
)
_VERSIONISH = re.compile(r"^[vV]?\d+(?:\.\d+)+$")
_BIT_RANGE = re.compile(r"^[A-Z][A-Z0-9_]*\[\d+(?::\d+)?\]$")
_SNAKE = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
_HYPHEN_CODE = re.compile(r"^[A-Z0-9]+(?:-[A-Z0-9]+)+$")
_ORDINAL = re.compile(r"^\d+(?:st|nd|rd|th)$", re.I)
_DIM = re.compile(r"^\d+(?:[.,]\d+)?x\d+(?:[.,]\d+)?(?:x\d+(?:[.,]\d+)?)?(?:mm|cm|m|in)?$", re.I)


def normalize_identifier(s: str) -> str:
    """Upper-case, without surrounding punctuation: how identifiers are stored and compared."""
    return s.strip().strip(".,;:!?()'\"<>{}").strip().upper()


def _is_identifier(tok: str, *, lenient: bool) -> bool:
    if len(tok) < 2 or len(tok) > 40:
        return False
    if _DATE.match(tok) or _VERSIONISH.match(tok) or _ORDINAL.match(tok) or _DIM.match(tok):
        return False
    if _QUANTITY.match(tok) or _RANGE_QUANTITY.match(tok):
        return False
    has_alpha = any(c.isalpha() for c in tok)
    has_digit = any(c.isdigit() for c in tok)
    upper = tok.upper() == tok
    if _BIT_RANGE.match(tok):
        return True
    if _SNAKE.match(tok):
        return True
    if has_alpha and has_digit:
        if "/" in tok or "." in tok and not upper:
            return False
        letters = sum(c.isalpha() for c in tok)
        # "E302", "PA9", "STM32F103RCT6", "QSFP-100G-ERL4"; mostly-lower-case words with a digit
        # (e.g. "mp3" is fine, "step2done" is not) only in lenient (query) mode.
        if upper or lenient:
            return letters >= 1
        return sum(c.isupper() for c in tok) >= max(1, letters // 2)
    if has_digit and not has_alpha:
        # "4471-23": digit groups with hyphens look like part numbers, plain numbers do not.
        return bool(re.match(r"^\d{3,}(?:-\d+)+$", tok)) and not _DATE.match(tok)
    if has_alpha and "-" in tok and _HYPHEN_CODE.match(tok):
        # All-caps hyphenated codes such as "SPROG-1" are caught above; letters-only ones
        # ("RS-A", "TX-EN") only when short segments suggest a code rather than words.
        return lenient and all(len(part) <= 4 for part in tok.split("-"))
    return False


_FAMILY_HEAD = re.compile(r"^[A-Za-z0-9]{6,}$")
_FAMILY_SUFFIX = re.compile(r"^[A-Za-z0-9]{1,2}$")


def _family(parts: list[str]) -> list[str] | None:
    """Datasheet family shorthand: "STM32F103xC/D/E" names STM32F103xC, STM32F103xD and
    STM32F103xE; "STM32F103x8/xB" STM32F103x8 and STM32F103xB; "ATmega328P/PB" ATmega328P and
    ATmega328PB; "ATmega328/P" ATmega328 and ATmega328P. None if `parts` is not that (a long code
    followed by one- or two-character suffixes that are not codes themselves: "GPIO36/A0" is a
    pin and its alias).

    The notation does not say whether a suffix replaces the code's last characters or extends
    it, so each suffix yields its readings (replace, extend, and replace-the-overlap when it
    starts with the code's last character). A reading that names no real part matches nothing.
    """
    head, tails = parts[0], parts[1:]
    if not _FAMILY_HEAD.match(head) or not all(_FAMILY_SUFFIX.match(t) for t in tails):
        return None
    if not (any(c.isalpha() for c in head) and any(c.isdigit() for c in head)):
        return None
    if any(_is_identifier(t, lenient=True) for t in tails):
        return None
    members = [head]
    for tail in tails:
        members.append(head[: len(head) - len(tail)] + tail)
        members.append(head + tail)
        if tail[0].upper() == head[-1].upper():
            members.append(head[:-1] + tail)
    return members


def _candidates(text: str) -> list[str]:
    out = []
    for m in _TOKEN.finditer(text):
        tok = m.group(0).rstrip(".-/")
        # Split "USART1_TX(8)/TIM1_CH2(8)" style pin lists on "/" when both sides are identifiers.
        parts = tok.split("/") if "/" in tok else [tok]
        family = _family(parts) if len(parts) > 1 else None
        if family is not None:
            out.extend(family)
        elif len(parts) > 1 and all(len(p) >= 2 for p in parts):
            out.extend(parts)
        else:
            out.append(tok)
    return out


def _extract(text: str, *, lenient: bool) -> list[str]:
    seen: set[str] = set()
    found: list[str] = []
    for tok in _candidates(text):
        if _is_identifier(tok, lenient=lenient):
            norm = normalize_identifier(tok)
            if norm and norm not in seen:
                seen.add(norm)
                found.append(norm)
    return found


def extract_identifiers(text: str) -> list[str]:
    """Identifiers in document text, normalized, deduplicated, in order of appearance."""
    return _extract(text, lenient=False)


def query_identifiers(query: str) -> list[str]:
    """Identifiers in a user question; accepts lower-case typing ("e302", "stm32f103rct6")."""
    return _extract(query, lenient=True)


def find_identifiers(text: str) -> list[str]:
    """Part numbers, model names and codes in `text` as compact keys ('QSFP100GER4LAFL'), so the
    hyphenation and spacing of a manual never decide a match."""
    out: list[str] = []
    for value in query_identifiers(text):
        key = compact(normalize_identifier(value))
        if len(key) >= 2 and key not in out:
            out.append(key)
    return out


# --- ordering schemes: the codes a manual defines by their parts -----------------------------------

_SCHEME_HEADING = re.compile(
    r"\b(?:ordering\s+(?:information|scheme|code|key)|order(?:ing)?\s+codes?|part\s+numbering"
    r"|(?:numbering|coding|marking|designation)\s+(?:scheme|system|key))\b",
    re.IGNORECASE,
)
"""How a manual introduces the key to its order codes ('Table 74. Ordering information scheme',
'7 Part numbering', 'type designation key')."""
_SCHEME_KEY = re.compile(r"(?<![\w.=])([A-Za-z0-9]{1,6})\s?=\s?(?=[^\s=])")
"""One entry of such a key: a short code, '=', its meaning ('R = 64 pins', '6 = Industrial
temperature range', 'TR = tape and reel')."""
SCHEME_MIN_KEYS = 4
"""Entries a section needs to be a key to codes: a scheme has at least a family and a few
options; fewer '=' are a formula or a test condition ('VDD = 3.3 V')."""
SCHEME_MAX_KEYS = 100
"""Entries read after the title at most: a key has a few fields of a few options each (tens of
entries); a long section goes on with formulas or register tables, and `scheme_decodes` recurses
once per entry it uses."""
SCHEME_MIN_PARTS = 2
"""Entries of the scheme a decoded code must use after its family prefix: one letter after a
family name is as likely a model of its own as a code."""


SCHEME_TITLE_MAX = 60
"""Characters of the longest line that can title a key ('Table 74. Ordering information
scheme', '7 Part numbering'); a sentence that refers to the key ('parts must be ordered with
the suffix 6, see Table 74: Ordering information scheme') is longer."""


def _line_of(text: str, match: re.Match[str]) -> str:
    start = text.rfind("\n", 0, match.start()) + 1
    end = text.find("\n", match.end())
    return text[start : end if end >= 0 else len(text)]


def _is_title(line: str) -> bool:
    return len(line.strip()) <= SCHEME_TITLE_MAX


def ordering_scheme(section: str) -> tuple[str, ...]:
    """The entries of a manual section's key to its order codes, in the order written, lower
    case ('stm32', 'f', '103', 'r', 'v', 'z', 'c', …), or () if the section is none (fewer
    than `SCHEME_MIN_KEYS` entries after an ordering-scheme title: a key follows its title, a
    line of its own; a section whose sentences only refer to it, 'see Table 74: Ordering
    information scheme', next to formulas of its own, is none)."""
    heading = next(
        (m for m in _SCHEME_HEADING.finditer(section) if _is_title(_line_of(section, m))), None
    )
    if heading is None:
        return ()
    keys = []
    for key in _SCHEME_KEY.findall(section[heading.end() :]):
        keys.append(key.lower())
        if len(keys) >= SCHEME_MAX_KEYS:
            break
    return tuple(keys) if len(set(keys)) >= SCHEME_MIN_KEYS else ()


def scheme_decodes(code: str, scheme: Sequence[str], words: Collection[str]) -> bool:
    """Whether an ordering scheme produces `code` ('STM32F103RDT6'): a family prefix the manual
    writes as a word ('stm32f103'; or none), then `SCHEME_MIN_PARTS` or more of the scheme's
    entries, each listed after the one before ('r' pin count, 'd' Flash size, 't' package, '6'
    temperature range). A code with a part the key does not list ('C8T6': no '8') is not one."""
    key = compact(code).lower()
    positions: dict[str, list[int]] = {}
    for i, k in enumerate(scheme):
        positions.setdefault(k, []).append(i)  # one letter may stand in two fields (T pins, T LQFP)
    entries = sorted((k for k in positions if k.isalnum()), key=len, reverse=True)

    @cache
    def parts_from(start: int, after: int) -> int:
        """The most entries that spell key[start:] in the scheme's order (-1: none do)."""
        if start == len(key):
            return 0
        best = -1
        for entry in entries:
            if not key.startswith(entry, start):
                continue
            # The entry's first field after the previous one (later fields leave fewer choices).
            at = next((p for p in positions[entry] if p > after), None)
            if at is not None:
                rest = parts_from(start + len(entry), at)
                if rest >= 0:
                    best = max(best, rest + 1)
        return best

    if parts_from(0, -1) >= SCHEME_MIN_PARTS + 1:
        return True  # the scheme's own family entry first ('stm32' 'f' '103' …)
    # A family prefix of three characters or more ('stm32f103rd' + 't' '6').
    return any(
        key[:cut] in words and parts_from(cut, -1) >= SCHEME_MIN_PARTS
        for cut in range(3, len(key) - 1)
    )


FAMILY_PREFIX_MIN = 5
"""Characters of the shortest family prefix `family_prefixes` gives ('STM32'): shorter heads
('STM', 'TS2') are words or codes of their own."""
FAMILY_CODE_MIN = 8
"""Characters of a code long enough to be a full order code made of fields."""


def family_prefixes(identifier: str) -> list[str]:
    """The heads of a long code where one of its fields ends (at a hyphen in a hyphenated code,
    else at a letter/digit change), longest first: 'STM32F103RET6' -> 'STM32F103RET',
    'STM32F103', 'STM32F', 'STM32'; 'QSFP-100G-LR4-A-FL' -> 'QSFP-100G-LR4-A', …, 'QSFP-100G'.
    An ordering scheme writes a code spaced into its fields ('Example: STM32 F 103 R C T 6'),
    so its family stands alone there; a full order code a technician reads off a part starts
    with it."""
    code = normalize_identifier(identifier)
    if len(compact(code)) < FAMILY_CODE_MIN or not re.fullmatch(r"[A-Z0-9\-]+", code):
        return []
    out: list[str] = []
    for end in range(len(code) - 1, FAMILY_PREFIX_MIN - 1, -1):
        head, after = code[:end], code[end]
        if head.endswith("-"):
            continue
        if after == "-" or ("-" not in code and head[-1].isdigit() != after.isdigit()):
            out.append(head)
    return out
