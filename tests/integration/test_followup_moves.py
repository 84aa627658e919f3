"""Follow-ups that move to another model the previous manuals never write ('and the R11?' after a
question about the Ender-3), and that ask the previous question again ('huh?'), through `ask()`
on the real corpus."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from tests.integration.test_answer_flow import collect, ingest

pytestmark = pytest.mark.integration

ENDER = "ender3_quickstart.pdf"
R11 = "trikdis_r11.pdf"
ENDER_BED = "How do I level the bed on the Ender-3?"


def test_documents_naming_finds_a_name_as_a_whole_word(make_org, corpus_dir) -> None:  # noqa: ANN001
    from techdocs_app.db import passages
    from techdocs_app.db.engine import session_scope

    shop = make_org("Naming")
    ender = ingest(shop, corpus_dir, ENDER)
    r11 = ingest(shop, corpus_dir, R11)
    with session_scope(org_id=shop.org_id) as session:

        def naming(names: list[str]) -> set[int]:
            return passages.documents_naming(
                session, org_id=shop.org_id, document_ids=[ender, r11], names=names
            )

        assert naming(["R11"]) == {r11}
        assert naming(["r11"]) == {r11}  # whatever its case
        assert naming(["R1"]) == set()  # not a prefix of 'R11'
        assert naming(["ender"]) == {ender}
        assert naming(["R11", "Ender"]) == {ender, r11}
        assert naming([]) == set()
        assert naming(["R11)|(.*"]) == set()  # a name is matched as written, not as a pattern


def _wheel_pdf(path: Path) -> None:
    """A van's wheel data: the stud thread written only as 'M14x1.5', the model only in the
    title."""
    doc = pymupdf.open()
    page = doc.new_page()
    lines = [
        "Wheels and tyres",
        "Wheel nut thread: M14x1.5. Wheel nut torque: 200 N m.",
        "Tighten the wheel nuts in a diagonal sequence.",
    ]
    for i, line in enumerate(lines):
        page.insert_text((72, 72 + 18 * i), line, fontsize=11)
    doc.set_metadata({"title": "Transit VN5 wheel data"})
    doc.save(path)


def test_a_thread_size_and_the_title_write_a_name(make_org, corpus_dir, tmp_path) -> None:  # noqa: ANN001
    """'M14x1.5' writes M14 (a thread and its pitch), and a model named only in the manual's
    title is written by it: 'and the M14?' after a wheel nut question is no other model."""
    from techdocs_app.db import passages
    from techdocs_app.db.engine import session_scope
    from techdocs_app.rag.ingest import ingest_path

    shop = make_org("Threads")
    pdf = tmp_path / "transit_wheels.pdf"
    _wheel_pdf(pdf)
    wheels = ingest_path(org_id=shop.org_id, path=pdf, uploaded_by=shop.user_id).id
    assert wheels is not None
    ender = ingest(shop, corpus_dir, ENDER)
    with session_scope(org_id=shop.org_id) as session:

        def naming(names: list[str]) -> set[int]:
            return passages.documents_naming(
                session, org_id=shop.org_id, document_ids=[wheels, ender], names=names
            )

        assert naming(["M14"]) == {wheels}
        assert naming(["m14"]) == {wheels}
        assert naming(["M1"]) == set()  # not a prefix of 'M14'
        assert naming(["VN5"]) == {wheels}  # in the title alone
        assert naming(["M14X1.5"]) == {wheels}


async def test_a_followup_naming_a_model_the_previous_manuals_never_write_moves_to_it(
    make_org, corpus_dir
) -> None:  # noqa: ANN001
    """'and the R11?' after a question about the Ender-3: the offline rules read a short code as
    a part of the printer ('What about the R11 of the Ender-3? (bed)'), but the printer's manual
    never writes 'R11', so the follow-up asks the previous question about the R11, searches
    without preferring the printer's manual, and ranks the R11 guide first. 'huh?' then asks
    that question again."""
    from techdocs_app.rag.answer import AnswerTrace, Done, Started

    shop = make_org("Moves")
    ingest(shop, corpus_dir, ENDER)
    ingest(shop, corpus_dir, R11)
    first = await collect(shop, ENDER_BED)
    assert isinstance(first[-1], Done) and not first[-1].not_found
    conversation = first[0].conversation_id

    trace = AnswerTrace()
    moved = await collect(shop, "and the R11?", conversation_id=conversation, trace=trace)
    assert trace.error is None, trace.error
    assert isinstance(moved[0], Started)
    assert (
        moved[0].standalone_query == trace.standalone_query == "How do I level the bed on the R11?"
    )
    assert trace.document_filter is None  # no preference for the printer's manual
    assert Path(trace.ranked[0]["filename"]).name == R11

    trace = AnswerTrace()
    again = await collect(shop, "huh?", conversation_id=conversation, trace=trace)
    assert trace.error is None, trace.error
    assert again[0].standalone_query == "How do I level the bed on the R11?"
    assert Path(trace.ranked[0]["filename"]).name == R11


async def test_a_code_the_previous_manual_writes_stays_with_it(make_org, corpus_dir) -> None:  # noqa: ANN001
    """'and E302?' after an R11 event code: 'E302' is written in the R11 guide, so the rewrite
    keeps the R11 and the follow-up prefers its manual."""
    from techdocs_app.rag.answer import AnswerTrace

    shop = make_org("Stays")
    ingest(shop, corpus_dir, ENDER)
    r11 = ingest(shop, corpus_dir, R11)
    first = await collect(shop, "What does event code E355 mean on the Trikdis R11?")
    trace = AnswerTrace()
    await collect(shop, "and E302?", conversation_id=first[0].conversation_id, trace=trace)
    assert trace.error is None, trace.error
    assert "R11" in trace.standalone_query and "E302" in trace.standalone_query
    assert trace.document_filter == [r11]
