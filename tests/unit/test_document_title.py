"""Document titles: the shop's file name unless the PDF's own title is clearly about the same thing."""

from __future__ import annotations

import pytest

from techdocs_app.rag.ingest import document_title


@pytest.mark.parametrize(
    ("filename", "meta", "expected"),
    [
        ("trikdis_rt2.pdf", "X00  2001", "trikdis rt2"),
        ("ender3_pcb_parts.pdf", "Job1", "ender3 pcb parts"),
        ("trikdis_rl14.pdf", "Microsoft Word - RL14_UM_EN_2022 01 27.docx", "trikdis rl14"),
        (
            "stm32f103_datasheet.pdf",
            "DATASHEET SEARCH SITE == WWW.ICPDF.COM",
            "stm32f103 datasheet",
        ),
        ("trikdis_r11.pdf", "R11 v130302_UM_LT_130308", "trikdis r11"),
        ("neets_module4.pdf", None, "neets module4"),
        (
            "cisco_cfp2_dco.pdf",
            "Cisco Digital CFP2-DCO Coherent Optical Module Data Sheet",
            "Cisco Digital CFP2-DCO Coherent Optical Module Data Sheet",
        ),
    ],
)
def test_document_title(filename: str, meta: str | None, expected: str) -> None:
    assert document_title(filename, meta) == expected
