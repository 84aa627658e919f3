"""Bad uploads are refused before anything is stored, each with a message saying what to do."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest
from sqlmodel import select

from techdocs_app import jobs, library
from techdocs_app.db.engine import system_session_scope
from techdocs_app.db.models import Document
from techdocs_app.errors import UploadRejected
from techdocs_app.settings import get_settings
from techdocs_app.storage import document_key, get_file_store, reset_file_store

SMALL = "trikdis_rt2.pdf"


@pytest.fixture(autouse=True)
def _fresh_store(db):  # noqa: ANN001, ANN202
    reset_file_store()
    yield
    reset_file_store()


def _documents() -> list[Document]:
    with system_session_scope() as s:
        return list(s.exec(select(Document)))


def _stored_files() -> list[Path]:
    root = get_settings().upload_dir
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _assert_nothing_kept(before_files: list[Path]) -> None:
    assert _documents() == []
    assert sorted(_stored_files()) == sorted(before_files)
    assert all(jobs.get_queue(org_id=i).count == 0 for i in range(1, 10))
    assert jobs.ingest_queue_names() == [jobs.LEGACY_QUEUE]  # no organization's queue was even made


def encrypted_pdf() -> bytes:
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "Torque spec 25 Nm")
    data = doc.tobytes(
        encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="owner-secret"
    )
    doc.close()
    return data


def zero_page_pdf() -> bytes:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [] /Count 0 >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


@pytest.mark.parametrize(
    ("name", "make", "expected"),
    [
        ("empty.pdf", lambda corpus: b"", "empty"),
        (
            "renamed.pdf",
            lambda corpus: b"PK\x03\x04 this is really a zip archive " * 50,
            "not a PDF",
        ),
        (
            "truncated.pdf",
            lambda corpus: (corpus / SMALL).read_bytes()[: (corpus / SMALL).stat().st_size // 3],
            "damaged",
        ),
        ("locked.pdf", lambda corpus: encrypted_pdf(), "password-protected"),
        ("nothing.pdf", lambda corpus: zero_page_pdf(), "no pages"),
    ],
)
def test_bad_file_is_rejected_before_storing(
    make_org, corpus_dir: Path, name: str, make, expected: str
) -> None:  # noqa: ANN001
    owner = make_org("Bay Auto")
    before = _stored_files()
    with pytest.raises(UploadRejected) as info:
        library.upload_document(owner, filename=name, data=make(corpus_dir))
    assert expected in info.value.user_message
    _assert_nothing_kept(before)


def test_encrypted_pdf_message_tells_the_owner_what_to_do(make_org) -> None:  # noqa: ANN001
    owner = make_org("Bay Auto")
    with pytest.raises(UploadRejected) as info:
        library.upload_document(owner, filename="locked.pdf", data=encrypted_pdf())
    assert info.value.user_message == (
        "This PDF is password-protected: remove the password and upload it again."
    )


def test_over_the_size_limit_is_rejected(make_org, corpus_dir: Path, monkeypatch) -> None:  # noqa: ANN001
    owner = make_org("Bay Auto")
    monkeypatch.setenv("MAX_UPLOAD_MB", "1")
    get_settings.cache_clear()
    try:
        data = (corpus_dir / "trikdis_r11.pdf").read_bytes()  # ~1.05 MB
        assert len(data) > 1024 * 1024
        before = _stored_files()
        with pytest.raises(UploadRejected) as info:
            library.upload_document(owner, filename="big.pdf", data=data)
        assert "the limit is 1 MB" in info.value.user_message
        _assert_nothing_kept(before)
    finally:
        monkeypatch.delenv("MAX_UPLOAD_MB")
        get_settings.cache_clear()


def test_same_file_twice_returns_the_existing_document(make_org, corpus_dir: Path) -> None:  # noqa: ANN001
    owner = make_org("Bay Auto")
    data = (corpus_dir / SMALL).read_bytes()
    first = library.upload_document(owner, filename=SMALL, data=data)
    second = library.upload_document(owner, filename="copy of manual.pdf", data=data)
    assert first.duplicate is False and second.duplicate is True
    assert second.document.id == first.document.id
    assert len(_documents()) == 1
    queue = jobs.get_queue(org_id=owner.org_id)
    assert queue.count == 1
    assert queue.job_ids == [jobs.ingest_job_id(first.document.id)]
    # The same file in another organization is that organization's own document.
    other = make_org("Other Shop")
    third = library.upload_document(other, filename=SMALL, data=data)
    assert third.duplicate is False and third.document.id != first.document.id
    assert len(_documents()) == 2


def test_good_upload_is_stored_pending_and_queued(make_org, corpus_dir: Path) -> None:  # noqa: ANN001
    owner = make_org("Bay Auto")
    data = (corpus_dir / SMALL).read_bytes()
    result = library.upload_document(owner, filename="../../etc/" + SMALL, data=data)
    view = result.document
    assert view.status == "pending" and view.filename == SMALL and view.pages == 6
    (doc,) = _documents()
    assert doc.org_id == owner.org_id and doc.uploaded_by == owner.user_id
    assert doc.storage_key == document_key(org_id=owner.org_id, sha256=doc.sha256)
    assert doc.storage_key.startswith(f"orgs/{owner.org_id}/")
    assert get_file_store().get(doc.storage_key) == data
    job = jobs.fetch_ingest_job(view.id)
    assert job is not None and job.id == f"ingest-{view.id}"
    assert job.func_name == "workers.tasks.ingest_document"
    assert job.args == (view.id, owner.org_id)  # the job carries its organization
    assert job.origin == f"ingest-org-{owner.org_id}"  # on the organization's own queue
    assert job.retries_left == get_settings().ingest_retries
    assert job.timeout == get_settings().ingest_job_timeout_s
    # Enqueueing again while the job waits does not add a second copy.
    jobs.enqueue_ingest(view.id, org_id=owner.org_id)
    assert jobs.get_queue(org_id=owner.org_id).job_ids == [job.id]
