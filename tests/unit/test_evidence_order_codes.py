"""Coverage of a full order code: a technician reads the whole code off the chip or label, the
passage writes its model; a sibling variant of the same family is another product."""

from __future__ import annotations

import pytest

from techdocs_app.rag.evidence import _term_found, _term_set, key_terms


def _found(question: str, passage: str) -> list[str]:
    words = _term_set(passage)
    return [t for t in key_terms(question) if _term_found(t, words)]


def test_a_full_order_code_is_found_in_a_passage_writing_its_model() -> None:
    found = _found(
        "how much flash has the stm32f103ret6?", "The STM32F103RE has 512 Kbytes of Flash memory."
    )
    assert "stm32f103ret6" in found


@pytest.mark.parametrize(
    ("question", "passage"),
    [
        # another field after the family: another variant, not an order suffix
        ("QSFP-100G-ZR4 reach?", "The QSFP-100G-LR4 reaches 10 km."),
        ("QSFP-100G-ZR4 reach?", "QSFP-100G modules: the LR4 reaches 10 km."),
        ("What is the ZX-4000-B2 weight?", "The ZX-4000 weighs 2 kg."),
    ],
)
def test_a_sibling_variant_is_not_found_in_its_family(question: str, passage: str) -> None:
    found = _found(question, passage)
    assert not any("-" in t for t in found), found


def test_the_variant_itself_is_found() -> None:
    assert "qsfp-100g-zr4" in _found("QSFP-100G-ZR4 reach?", "The QSFP-100G-ZR4-S reaches 80 km.")
