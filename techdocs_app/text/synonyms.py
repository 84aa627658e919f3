"""Shop words and the words manuals use for the same thing: a technician asks about the 'psu',
a 'dead' board, 'watts' or a 'precaution'; the manual writes 'power supply', 'failure', 'W',
'Caution'.

One table for the whole app: the attribute check of the evidence decision (`rag.attributes`:
does the manual mention what is asked?) and the extractive answerer (`providers.extractive`:
which sentence says it?) read the same equivalences. General equivalences of technical writing,
not of one manual. A line "a b c" is a group whose words stand for one another; a line
"a b: c d" says that a question's 'a' or 'b' may be written 'c' or 'd' in a manual, not the
other way round ('watts' is written 'W', but a manual's 'W' is no question's 'watts'). Matched
on stems (`text.words.stem`), so 'lights'/'lighting' are 'light'.
"""

from __future__ import annotations

from functools import lru_cache

from techdocs_app.text.words import stem

_TABLE = (
    # indicators and displays
    "led indicator light lamp",
    # not 'monitor': alarm receivers 'monitor' (the monitoring station), they display nothing
    "screen display lcd",
    # one way: a question's 'supply' may be the manual's 'power' ("powered with 12.6 V" gives
    # the supply voltage), but a question's 'power' is no manual's 'supply' ("how much power does
    # it use?" is no question about the supply voltage)
    "psu: power supply",
    "supply: power",
    # not 'power': "It is powered from the receiver." states no current drawn
    "draw: consumption current",
    # faults and their causes
    "broken fault failure faulty defective damaged",
    "dead fault failure",
    "error fault failure trouble",
    "wiped erased lost cleared",
    "forget forgets: lost erased cleared",
    # radio and line faults: a technician's 'interference' is the manual's 'noise' ('RF noise')
    "interference: noise",
    # a line or a signal that is 'back' is the manual's 'restore' event ('COM RESTORE')
    "back: restore",
    # actions
    "pick choose select",
    "plug connect insert",
    "hook connect",
    "fix repair remedy",
    # a setting that 'fixes' a fault is the manual's 'solution'
    "fix: solution",
    # a technician 'skins' a wire; the manual 'strips' it
    "skin: strip",
    # a bed or a lens is 'wiped' down; the manual says 'clean'
    "wipe: clean",
    # a device 'wakes'; the manual says it 'exits' a low-power mode
    "wake: exit wakeup",
    "reboot restart reset",
    # things and parts
    "temp temperature",
    # one way: a "heated bed" names no temperature
    "hot: heat temperature",
    "wire conductor cable",
    "stepper: motor",
    "rx receiver",
    "rx: receive input",
    "tx transmitter",
    "tx: transmit output",
    "mcu microcontroller",
    "mcu: processor cpu",
    # 'what chip is it running on?': the manual's MCU or processor
    "chip: mcu microcontroller processor",
    # a technician's RAM, I/O lines and USART are the datasheet's SRAM, GPIOs and UART5
    "ram: sram",
    "io: gpio i/o",
    "usart: uart",
    "pullup: pull",
    "pulldown: pull",
    # a thermistor is the manual's temperature sensor ('2 channels 100K NTC')
    "thermistor: temperature sensor ntc",
    # a machine's limit switch is a printer's or CNC's endstop
    "limit: endstop",
    # optics: a lane's 'lambda' is its wavelength
    "lambda: wavelength",
    # bearings: the 'drag' felt when turning is the manual's rolling torque
    "drag: torque",
    "cpu: mcu processor core",
    "pinout: pin",
    "program: software application firmware tool",
    "app: software application",
    "built: integrated internal embedded onboard",
    # Telephony: the line rings once per incoming call; alarm receivers count "calls".
    "ring: call ringing",
    # The signal words under which manuals give their advice (ANSI Z535 / ISO 3864 headings).
    "precaution: caution warning note attention important notice",
    "warning: caution note attention important notice",
    "tip: note",
    # Measures, and units written as words: a manual writes the symbol ('3.5 W', '-14 dBm',
    # '25 °C'; not the letters that are words or list marks too: 'a', 'g', 'f').
    "size: dimension mm",
    "weight: mass kg g",
    "weigh: weight mass kg",
    "wattage: watt w",
    "watt: w mw power",
    "volt: v mv voltage",
    "amp: ma current",
    "ohm: kohm mohm resistance",
    "degree: c temperature",
    "db: dbm dbi",
    # Adjectives of a measure ('how big and heavy'): the manual states the measure.
    "heavy: weight mass kg",
    "big: size dimension mm",
    "fast: speed rate",
    # Shop abbreviations, one way: a question's short form, the manual's word. General ones
    # (those a parts counter or a service bulletin uses), not read off any question.
    "freq: frequency",
    "sens: sensitivity",
    "dia: diameter",
    "calc: calculate calculation",
    "quick: speed rate",
    "diff: differential difference",
    "spec specs: specification rating",
    "config: configuration setting",
    # one way: event tables and displays abbreviate ('Cfg. Change', 'Batt. low'); a question
    # writes the word
    "configuration: cfg config",
    "battery: batt",
    "qty: quantity",
    "fw: firmware",
    "hw: hardware",
    "pwr: power",
    "gnd: ground",
    "conn: connector connection",
    "dims: dimension size",
    "baud bitrate",
    "credentials: password login username",
    "plug: connector socket",
    "feed: power supply",
    # British and American spellings of one word: a technician writes 'aluminium' or 'fibre',
    # the manual 'aluminum', 'fiber' (or the other way round). Not 'colour'/'color': a
    # 'what colour …' question wants a colour's name, and 'color coded' outranked it.
    "aluminium aluminum",
    "fibre fiber",
    "metre meter",
    "centre center",
    "litre liter",
    "grey gray",
    "mould mold",
    "sulphur sulfur",
    "tyre tire",
    # one way: a British electrician's 'earth' is the manual's 'ground' ('GND')
    "earth: ground gnd",
)


@lru_cache(maxsize=1)
def _table() -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = {}
    for line in _TABLE:
        asked, colon, written = line.partition(":")
        targets = {stem(w) for w in (written if colon else asked).split()}
        for word in asked.split():
            table.setdefault(stem(word), set()).update(targets - {stem(word)})
    return {k: frozenset(v) for k, v in table.items() if v}


def synonyms(term: str) -> frozenset[str]:
    """The stems a manual may write for a question's (stemmed) term; empty when none."""
    return _table().get(term, frozenset())
