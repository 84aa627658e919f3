"""Features of the not-found decision, each on synthetic manual text and questions."""

from __future__ import annotations

from techdocs_app.rag.attributes import (
    DocumentProfile,
    asks_to_decode,
    assess_attributes,
    build_profile,
    named_terms,
    spelled_out,
)
from techdocs_app.rag.quantities import asked_dimension
from techdocs_app.rag.retrieve import SearchHit
from tests.factories import search_hit


def _profile(doc_id: int, filename: str, *sections: str) -> DocumentProfile:
    return build_profile(doc_id, filename.removesuffix(".pdf"), filename, list(sections))


def _hit(doc_id: int, filename: str, content: str = "", heading: str = "") -> SearchHit:
    return search_hit(
        chunk_id=doc_id * 10,
        document_id=doc_id,
        document_title=filename.removesuffix(".pdf"),
        filename=filename,
        heading=heading,
        content=content,
    )


GATEWAY = _profile(
    7,
    "zeta_gw5_gateway.pdf",
    "Power: the GW5 takes 10-30 V DC from the terminal block. Fuse F2 protects the input.",
    "Network: 10/100 Ethernet port with DHCP. The LED marked NET blinks while connecting.",
)


def test_named_terms_are_acronyms_and_letter_digit_codes_not_the_subject() -> None:
    assert named_terms("Does the GW5 support LTE-M and IPv6 over Wi-Fi?", {"gw5"}) == [
        "LTE-M",
        "IPv6",
        "Wi-Fi",
    ]
    # Plain words, a capitalised first word and plain numbers name nothing.
    assert named_terms("How long does the gateway wait for 30 seconds?", set()) == []
    # A question typed in capitals has no acronyms (its codes still count).
    assert named_terms("WHAT IS THE FUSE F2 RATING ON THE GW5", {"gw5"}) == ["F2"]


def test_a_named_term_the_subjects_manual_never_writes_is_missing() -> None:
    hits = [_hit(7, "zeta_gw5_gateway.pdf")]
    missing = assess_attributes("Can the GW5 be powered over PoE?", hits, {7: GATEWAY})
    assert missing["named_missing"] == ["PoE"]
    known = assess_attributes("Does the NET LED on the GW5 blink with DHCP?", hits, {7: GATEWAY})
    assert known["named_missing"] == []
    # A value written with its unit glued on is there when the manual has the number.
    value = assess_attributes("Is 30V too much for the GW5?", hits, {7: GATEWAY})
    assert value["named_missing"] == []
    code = assess_attributes("What value is fuse F7 on the GW5?", hits, {7: GATEWAY})
    assert code["named_missing"] == ["F7"]


def test_whats_asks_for_a_quantity_like_what_is() -> None:
    pressure = asked_dimension("What is the tyre pressure of the cart?")
    assert pressure is not None
    assert asked_dimension("What's the tyre pressure of the cart?") == pressure
    assert asked_dimension("whats the tyre pressure of the cart") == pressure
    assert asked_dimension("What's the part number of the cart's tyre?") is None


def test_a_code_the_question_asks_to_decode_is_not_an_unknown_model() -> None:
    assert asks_to_decode("Decode the tag XJ4410B for me.")
    assert asks_to_decode("What does the suffix TR on the order code mean?")
    assert not asks_to_decode("What input voltage does the GW9 take?")
    hits = [_hit(7, "zeta_gw5_gateway.pdf")]
    decode = assess_attributes("Decode the GW5 label code GW5X22 for me.", hits, {7: GATEWAY})
    assert decode["unknown_models"] == [] and decode["named_missing"] == []
    variant = assess_attributes("What input voltage does the GW5X22 take?", hits, {7: GATEWAY})
    assert variant["unknown_models"] == ["GW5X22"]


def test_an_acronym_the_passages_spell_out_is_not_missing() -> None:
    text = "The gateway takes Power over Ethernet.\nEach printed circuit board is coated."
    assert spelled_out("PoE", [text]) and spelled_out("PCB", [text])
    assert not spelled_out("MTBF", [text])
    assert not spelled_out("R13", [text])  # a code is never spelled out
    hits = [_hit(7, "zeta_gw5_gateway.pdf", content="Powered over Ethernet (802.3af) or by DC.")]
    evidence = assess_attributes("Can the GW5 take PoE?", hits, {7: GATEWAY})
    assert evidence["named_missing"] == []


def test_a_unit_asked_for_and_temp_ask_for_a_quantity() -> None:
    torque = asked_dimension("What torque?")
    assert asked_dimension("how tight do I snug the nozzle, in Nm?") == torque
    assert asked_dimension("how many ft-lb on the adjusting nut?") == torque
    assert asked_dimension("how tight is the spread once installed?") is None
    assert asked_dimension("what hotend temp for petg?") == asked_dimension("What temperature?")
    assert asked_dimension("how many mA does it pull?") == asked_dimension("What current?")
    # A unit's letters inside other words, 'in' not ending the question, a temp-rated part: none.
    assert asked_dimension("is it in A mode?") is None
    assert asked_dimension("which temp-rated sku is it?") is None
    assert asked_dimension("how do I plug it in?") is None
