"""Named tables of the eval corpus come out whole, header first, cells under the right headers."""

from __future__ import annotations

from techdocs_app.rag.pdf import Block, extract_page
from tests.conftest import CORPUS_DIR

CORPUS = CORPUS_DIR


def table_with(doc: str, page: int, *headers: str, containing: str = "") -> Block:
    content = extract_page(CORPUS / f"{doc}.pdf", page)
    for block in content.blocks:
        if (
            block.kind == "table"
            and all(h in block.rows[0] for h in headers)
            and containing in block.text
        ):
            return block
    found = [b.rows[0] for b in content.blocks if b.kind == "table"]
    raise AssertionError(f"no table with header {headers} on {doc} p{page}; headers: {found}")


def cell(block: Block, key_header: str, key: str, header: str) -> str:
    head = block.rows[0]
    k, c = head.index(key_header), head.index(header)
    matches = [row[c] for row in block.rows[1:] if row[k] == key]
    assert matches, f"no row with {key_header}={key!r}"
    return matches[0]


def test_trikdis_rt2_parameter_table() -> None:
    t = table_with("trikdis_rt2", 3, "Title", "Permissible range", "Set value")
    assert t.caption == "Exploitation parameters of the receiving module RT2"
    key = "number of calls while handset of the module will be lifted"
    assert cell(t, "Title", key, "Permissible range") == "1 - 8"
    assert cell(t, "Title", key, "Set value") == "2"
    assert t.text.splitlines()[0] == "Title | Permissible range | Set value"


def test_trikdis_rt2_service_message_codes() -> None:
    t = table_with("trikdis_rt2", 6, "Message", "Code", "Description")
    assert cell(t, "Message", "TEL LINE ERROR", "Code") == "20"
    assert cell(t, "Code", "20", "Description") == "Telephone line failure or disconnection"
    assert cell(t, "Message", "RT2 RESET", "Code") == "D0"


def test_trikdis_r11_spec_led_and_event_tables() -> None:
    spec = table_with("trikdis_r11", 2, "Parameter", "Value")
    assert (
        cell(spec, "Parameter", "Receiver input resistance", "Value") == "50 \u03a9"
    )  # NFKC: the OHM SIGN in the PDF becomes the Greek letter
    levels = table_with("trikdis_r11", 2, "Level", "Input voltage μV")
    assert levels.rows[0].count("Level") == 2  # two side-by-side halves keep their columns
    assert cell(levels, "Level", "3", "Signal strength, dBm") == "-95"
    leds = table_with("trikdis_r11", 3, "Indicator", "Operation", "Description")
    # "Power" spans three rows: the row label is repeated on each of them.
    assert cell(leds, "Operation", "Blinking yellow", "Indicator") == "„Power“"
    assert cell(leds, "Operation", "Blinking yellow", "Description") == (
        "Supply voltage is low (below 11,5 V)"
    )
    events = table_with("trikdis_r11", 9, "Event", "RAS-3D change into", "ECID")
    assert cell(events, "Event", "Low Battery", "RAS-3D change into") == "0130299000"
    assert cell(events, "Event", "Low Battery", "ECID") == "E302 99 000"
    assert cell(events, "Event", "Hight RF Noise", "ECID") == "E355 99 000"


def test_trikdis_rl14_specifications() -> None:
    t = table_with("trikdis_rl14", 5, "Parameter", "Description")
    assert cell(t, "Parameter", "Number of RS232 ports", "Description") == "3"
    assert cell(t, "Parameter", "Physical type of RS232 ports", "Description") == (
        "Male connector DB9"
    )


def test_stm32_pvd_thresholds_electrical_characteristics() -> None:
    t = table_with("stm32f103_datasheet", 43, "Symbol", "Parameter", "Conditions", "Min", "Typ")
    row = next(r for r in t.rows if r[2] == "PLS[2:0]=000 (rising edge)")
    head = t.rows[0]
    assert (row[head.index("Min")], row[head.index("Typ")], row[head.index("Max")]) == (
        "2.1",
        "2.18",
        "2.26",
    )
    assert row[head.index("Unit")] == "V"
    assert cell(t, "Conditions", "PLS[2:0]=000 (rising edge)", "Symbol") == "VPVD"


def test_stm32_pin_definitions() -> None:
    # Two header rows: "Pins" spans the package columns named in the second row.
    t = table_with("stm32f103_datasheet", 33, "Pins", "Pin name", "Alternate functions(4)")
    top, packages = t.rows[0], t.rows[1]
    assert packages[:6] == ["LFBGA144", "LFBGA100", "WLCSP64", "LQFP64", "LQFP100", "LQFP144"]
    assert packages[-2:] == ["Default", "Remap"]
    pin = top.index("Pin name")
    pa9 = next(r for r in t.rows[2:] if r[pin] == "PA9")
    assert pa9[packages.index("LQFP64")] == "42"
    assert pa9[packages.index("LQFP100")] == "68"
    assert pa9[top.index("Main function(3) (after reset)")] == "PA9"
    assert pa9[packages.index("Default")].startswith("USART1_TX")


def test_stm32_wakeup_times() -> None:
    t = table_with("stm32f103_datasheet", 61, "Symbol", "Parameter", "Typ", containing="Wakeup")
    assert cell(t, "Parameter", "Wakeup from Standby mode", "Typ") == "50"
    assert cell(t, "Parameter", "Wakeup from Standby mode", "Unit") == "\u03bcs"  # NFKC µ -> μ


def test_table_text_is_not_repeated_in_running_text() -> None:
    content = extract_page(CORPUS / "trikdis_rt2.pdf", 6)
    running = " ".join(b.text for b in content.blocks if b.kind != "table")
    assert "Telephone line failure or disconnection" not in running
    assert any("Telephone line failure" in b.text for b in content.blocks if b.kind == "table")
