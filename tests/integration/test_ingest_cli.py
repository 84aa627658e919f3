"""`python -m techdocs_app ingest PATH... --org ORG` (run in-process through the real parser)."""

from __future__ import annotations

import shutil
from pathlib import Path

from techdocs_app import library
from techdocs_app.__main__ import main
from techdocs_app.storage import reset_file_store


def test_ingest_files_and_folders_by_org_name_and_id(
    make_org, corpus_dir: Path, tmp_path: Path, capsys
) -> None:  # noqa: ANN001
    reset_file_store()
    owner = make_org("Bay Auto")
    folder = tmp_path / "manuals"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(corpus_dir / "ender3_troubleshooting.pdf", folder / "sub")
    (folder / "notes.pdf").write_bytes(b"just some notes, not a PDF")
    (folder / "readme.txt").write_text("ignored")

    code = main(
        [
            "ingest",
            str(corpus_dir / "trikdis_rt2.pdf"),
            str(folder),
            "--org",
            "Bay Auto",
            "--no-progress",
        ]
    )
    out = capsys.readouterr()
    assert code == 1  # one file was rejected
    assert "ready    " in out.out and "trikdis_rt2.pdf: 6 pages" in out.out
    assert "ender3_troubleshooting.pdf: 2 pages" in out.out
    assert "rejected " in out.out and "notes.pdf: This file is not a PDF" in out.out
    assert "ingest: 2 of 3 ready in 'Bay Auto'" in out.out
    assert {d.filename for d in library.list_documents(owner)} == {
        "trikdis_rt2.pdf",
        "ender3_troubleshooting.pdf",
    }

    code = main(
        ["ingest", str(corpus_dir / "trikdis_rt2.pdf"), "--org", str(owner.org_id), "--no-progress"]
    )
    assert code == 0 and len(library.list_documents(owner)) == 2  # same file: no duplicate
    assert main(["ingest", str(folder), "--org", "No Such Shop", "--no-progress"]) == 2
