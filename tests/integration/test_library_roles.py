"""Owners and admins manage the library; a member (technician) can read it but not change it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from techdocs_app import library
from techdocs_app.errors import PermissionDenied


def test_member_cannot_upload_delete_or_reindex(make_org, corpus_dir) -> None:  # noqa: ANN001
    owner = make_org("Shop")
    data = (corpus_dir / "trikdis_rt2.pdf").read_bytes()
    uploaded = library.upload_document(owner, filename="trikdis_rt2.pdf", data=data)
    member = replace(owner, role="member")
    doc_id = uploaded.document.id
    with pytest.raises(PermissionDenied):
        library.upload_document(member, filename="again.pdf", data=data)
    with pytest.raises(PermissionDenied):
        library.delete_document(member, document_id=doc_id)
    with pytest.raises(PermissionDenied):
        library.reindex_document(member, document_id=doc_id)
    assert [d.id for d in library.list_documents(member)] == [doc_id]
    library.delete_document(owner, document_id=doc_id)
    assert library.list_documents(owner) == []
