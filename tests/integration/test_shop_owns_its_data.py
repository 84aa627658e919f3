"""A shop owns its data: backup + restore (same answers from a new database), the organization
export zip, and organization deletion (everything of one organization, nothing of another)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

from tests.conftest import TEST_DB, _reset_settings_caches
from tests.integration.test_answer_flow import SMARTOPTICS, collect, ingest

pytestmark = pytest.mark.integration

QUESTION = "What is the power budget and reach of the TS2017-S31C-SO?"
OTHER_PDF = "trikdis_rt2.pdf"


def _reset_all() -> None:
    from techdocs_app import cache, jobs
    from techdocs_app.storage import reset_file_store

    _reset_settings_caches()
    reset_file_store()
    cache.reset_redis()
    jobs.reset_jobs()


@pytest.fixture
def fresh(db: dict[str, str], tmp_path: Path) -> Iterator[dict[str, str]]:
    """Empty tables, and an upload folder of this test's own."""
    saved = os.environ.get("UPLOAD_DIR")
    os.environ["UPLOAD_DIR"] = str(tmp_path / "uploads")
    _reset_all()
    yield db
    if saved is None:
        os.environ.pop("UPLOAD_DIR", None)
    else:
        os.environ["UPLOAD_DIR"] = saved
    _reset_all()


def _add_member(principal: Any, email: str, role: str = "member") -> Any:
    """Another person in the same organization (as the invitation flow would leave it)."""
    from techdocs_app.auth import Principal
    from techdocs_app.db.engine import system_session_scope
    from techdocs_app.db.models import Membership, User

    with system_session_scope() as session:
        user = User(email=email, password_hash=None)
        session.add(user)
        session.flush()
        assert user.id is not None
        session.add(Membership(org_id=principal.org_id, user_id=user.id, role=role))
        user_id = user.id
    return Principal(
        user_id=user_id,
        org_id=principal.org_id,
        role=role,
        email=email,
        org_name=principal.org_name,
    )


async def _answer(principal: Any, question: str = QUESTION) -> tuple[str, list[tuple]]:
    from techdocs_app.rag.answer import Done, Sources

    events = await collect(principal, question)
    done = next(e for e in events if isinstance(e, Done))
    sources = next(e for e in events if isinstance(e, Sources))
    return done.answer, [
        (s.document_id, s.filename, s.page_start, s.page_end, s.snippet) for s in sources.sources
    ]


# --- backup and restore ---------------------------------------------------------------------


@pytest.fixture
def restored_database(fresh: dict[str, str]) -> Iterator[str]:
    from techdocs_app import embedded
    from techdocs_app.settings import Settings

    name = f"{TEST_DB}_restored"
    settings = Settings()
    embedded.drop_database(settings, name)
    embedded.ensure_database(settings, name)
    yield fresh["database_url"].rsplit("/", 1)[0] + f"/{name}"
    embedded.drop_database(settings, name)


async def test_backup_restores_into_a_new_database_with_the_same_answers(
    fresh: dict[str, str],
    restored_database: str,
    make_org: Callable,
    corpus_dir: Path,
    tmp_path: Path,
    redis_client: Any,
) -> None:
    from techdocs_app import library
    from techdocs_app.cli.backup import run_backup, run_restore
    from techdocs_app.db.engine import session_scope
    from techdocs_app.db.models import Document

    shop = make_org("Optics")
    document_id = ingest(shop, corpus_dir)
    answer, sources = await _answer(shop)
    assert sources and "budget" in answer.lower()
    page = library.render_page_png(shop, document_id=document_id, page=1, zoom=0.5)
    with session_scope(org_id=shop.org_id) as session:
        chunks_before = session.exec(text("SELECT count(*) FROM chunks")).scalar_one()  # type: ignore[call-overload]

    import argparse

    assert run_backup(argparse.Namespace(to=tmp_path / "backups")) == 0
    (folder,) = (tmp_path / "backups").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["documents"] == 1 and manifest["files"] == 1
    assert manifest["schema_revisions"]

    # A new machine: another database, an empty upload folder, an empty Redis.
    os.environ["UPLOAD_DIR"] = str(tmp_path / "restored-uploads")
    _reset_all()
    # Restoring is the owner's job (tables, policies and grants); the app then uses its own role.
    owner_url = (
        fresh["owner_database_url"].rsplit("/", 1)[0] + "/" + restored_database.rsplit("/", 1)[1]
    )
    args = argparse.Namespace(folder=folder, database_url=owner_url, no_files=False, yes=False)
    assert run_restore(args) == 0
    os.environ["DATABASE_URL"] = restored_database
    redis_client.flushdb()
    _reset_all()
    try:
        with session_scope(org_id=shop.org_id) as session:
            restored = session.get(Document, document_id)
            assert restored is not None and restored.status == "ready"
            chunks = session.exec(text("SELECT count(*) FROM chunks")).scalar_one()  # type: ignore[call-overload]
            assert chunks == chunks_before > restored.chunk_count > 0
            assert session.exec(text("SELECT count(*) FROM conversations")).scalar_one() == 1  # type: ignore[call-overload]
        again, again_sources = await _answer(shop)
        assert again == answer
        assert again_sources == sources
        # The stored PDF came back too: its page renders exactly as before.
        assert library.render_page_png(shop, document_id=document_id, page=1, zoom=0.5) == page
    finally:
        os.environ["DATABASE_URL"] = fresh["database_url"]
        _reset_all()


def test_restore_refuses_a_damaged_backup(fresh: dict[str, str], tmp_path: Path) -> None:
    from techdocs_app.backup import BackupError, create_backup, read_manifest

    folder = create_backup(tmp_path)
    read_manifest(folder)
    with (folder / "database.dump").open("ab") as fh:
        fh.write(b"garbage")
    with pytest.raises(BackupError, match="checksum"):
        read_manifest(folder)


# --- export ---------------------------------------------------------------------------------


async def test_export_holds_manuals_conversations_and_a_readme(
    fresh: dict[str, str], make_org: Callable, corpus_dir: Path
) -> None:
    from techdocs_app.errors import PermissionDenied
    from techdocs_app.organization_export import export_organization

    shop = make_org("Optics & Co")
    tech = _add_member(shop, "tech@optics.example")
    other = make_org("Rival Shop")
    ingest(shop, corpus_dir)
    ingest(other, corpus_dir, OTHER_PDF)
    await _answer(shop)
    await _answer(tech, "What wavelength does the TS2017 use?")
    await _answer(other, "What is the RT2 power supply voltage?")

    with pytest.raises(PermissionDenied):
        export_organization(tech, io.BytesIO())

    buffer = io.BytesIO()
    counts = export_organization(shop, buffer)
    assert counts["documents"] == 1 and counts["conversations"] == 2 and counts["messages"] == 4
    archive = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    names = set(archive.namelist())
    assert {"README.md", "organization.json", "documents.json", "conversations.json"} <= names
    assert all(not n.startswith("/") and ".." not in n.split("/") for n in names)
    readme = archive.read("README.md").decode()
    assert "documents.json" in readme and "conversations/<id>.json" in readme

    org = json.loads(archive.read("organization.json"))
    assert org["organization"]["name"] == "Optics & Co"
    assert {m["email"]: m["role"] for m in org["members"]} == {
        shop.email: "owner",
        "tech@optics.example": "member",
    }
    (document,) = json.loads(archive.read("documents.json"))
    pdf = archive.read(document["file"])
    assert hashlib.sha256(pdf).hexdigest() == document["sha256"]
    assert pdf == (corpus_dir / SMARTOPTICS).read_bytes()

    index = json.loads(archive.read("conversations.json"))
    assert {c["user_email"] for c in index} == {shop.email, "tech@optics.example"}
    for entry in index:
        conversation = json.loads(archive.read(entry["file"]))
        roles = [m["role"] for m in conversation["messages"]]
        assert roles == ["user", "assistant"] and entry["message_count"] == 2
        answer = conversation["messages"][1]
        assert answer["content"] and answer["sources"]
        assert answer["sources"][0]["filename"] == SMARTOPTICS
    # Nothing of the other organization.
    everything = b"".join(archive.read(n) for n in names if not n.endswith(".pdf"))
    assert b"RT2" not in everything and b"Rival" not in everything
    assert not any(OTHER_PDF in n for n in names)


def test_export_names_are_safe_for_hostile_file_names() -> None:
    from techdocs_app.organization_export import safe_name

    assert safe_name("../../etc/passwd.pdf") == "etc_passwd.pdf"
    assert safe_name("<script>alert(1)</script>.pdf") == "script_alert_1_script_.pdf"
    assert safe_name("....") == "manual"


# --- deletion -------------------------------------------------------------------------------


def _tenant_counts(org_id: int) -> dict[str, int]:
    from techdocs_app.db import organizations as org_db
    from techdocs_app.db.engine import system_session_scope

    counts = {}
    with system_session_scope() as session:
        for table in SQLModel.metadata.sorted_tables:
            if "org_id" in table.c:
                counts[table.name] = org_db.count_rows(session, table=table, org_id=org_id)
    return counts


def _redis_keys(redis_client: Any, org_id: int) -> set[bytes]:
    return {k for k in redis_client.scan_iter(match=f"td:*:{org_id}:*")}


async def test_delete_removes_everything_of_one_organization_only(
    fresh: dict[str, str], make_org: Callable, corpus_dir: Path, redis_client: Any
) -> None:
    from techdocs_app import library
    from techdocs_app.auth.sessions import issue_session, principal_from_session
    from techdocs_app.db.engine import system_session_scope
    from techdocs_app.db.models import Membership, Organization
    from techdocs_app.errors import PermissionDenied, ValidationFailed
    from techdocs_app.organization_deletion import delete_organization
    from techdocs_app.storage import get_file_store

    doomed = make_org("Doomed Garage")
    tech = _add_member(doomed, "tech@doomed.example")
    kept = make_org("Kept Garage")
    # A person in both shops keeps their account (and their other membership).
    both = _add_member(doomed, "both@shops.example", role="admin")
    with system_session_scope() as session:
        session.add(Membership(org_id=kept.org_id, user_id=both.user_id, role="member"))
    doomed_doc = ingest(doomed, corpus_dir)
    kept_doc = ingest(kept, corpus_dir)
    await _answer(doomed)
    await _answer(tech)
    kept_answer = await _answer(kept)
    doomed_token = issue_session(doomed)
    kept_token = issue_session(kept)
    # An org-scoped rate-limit style key, as other parts of the product write them.
    redis_client.set(f"td:rl:{doomed.org_id}:api", 1)
    store = get_file_store()
    before_kept = _tenant_counts(kept.org_id)
    kept_redis = _redis_keys(redis_client, kept.org_id)
    assert before_kept["chunks"] > 0 and before_kept["messages"] == 2 and kept_redis
    assert _redis_keys(redis_client, doomed.org_id)

    with pytest.raises(PermissionDenied):
        delete_organization(tech, confirmation="Doomed Garage")
    with pytest.raises(ValidationFailed, match="type its name exactly"):
        delete_organization(doomed, confirmation="doomed garage")
    assert _tenant_counts(doomed.org_id)["documents"] == 1  # nothing deleted

    with system_session_scope() as session:
        storage_key = session.exec(
            text("SELECT storage_key FROM documents WHERE id = :id").bindparams(id=doomed_doc)  # type: ignore[call-overload]
        ).scalar_one()
    assert store.exists(storage_key)

    report = delete_organization(doomed, confirmation="  Doomed   Garage ")
    assert report.documents == 1 and report.files_deleted == 1 and not report.problems
    assert report.users_deleted == 2  # the owner and the technician; not the shared person
    assert report.redis_keys_deleted >= 3

    assert set(_tenant_counts(doomed.org_id).values()) == {0}
    assert not store.exists(storage_key)
    assert not (Path(os.environ["UPLOAD_DIR"]) / "orgs" / str(doomed.org_id)).exists()
    assert _redis_keys(redis_client, doomed.org_id) == set()
    assert principal_from_session(doomed_token) is None
    with system_session_scope() as session:
        assert session.get(Organization, doomed.org_id) is None
        emails = set(session.exec(text("SELECT email FROM users")).scalars())  # type: ignore[call-overload]
    assert doomed.email not in emails and "tech@doomed.example" not in emails
    assert {"both@shops.example", kept.email} <= emails

    # The other shop is untouched: rows, file, cached keys, session, answers.
    assert _tenant_counts(kept.org_id) == before_kept
    assert _redis_keys(redis_client, kept.org_id) >= kept_redis
    assert library.get_document(kept, document_id=kept_doc).status == "ready"
    assert principal_from_session(kept_token) is not None
    assert await _answer(kept) == kept_answer


def test_delete_refuses_while_a_subscription_is_live(
    fresh: dict[str, str], make_org: Callable
) -> None:
    from techdocs_app.db.engine import system_session_scope
    from techdocs_app.db.models import Organization
    from techdocs_app.errors import ValidationFailed
    from techdocs_app.organization_deletion import delete_organization

    shop = make_org("Subscribed")
    with system_session_scope() as session:
        org = session.get(Organization, shop.org_id)
        assert org is not None
        org.stripe_subscription_id, org.subscription_status = "sub_123", "active"
        session.add(org)
    with pytest.raises(ValidationFailed, match="Billing page"):
        delete_organization(shop, confirmation="Subscribed")
    assert _tenant_counts(shop.org_id)["memberships"] == 1


def test_cli_export_and_typed_delete(
    fresh: dict[str, str],
    make_org: Callable,
    corpus_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from techdocs_app.__main__ import main

    shop = make_org("Cli Shop")
    ingest(shop, corpus_dir)
    out = tmp_path / "export.zip"
    assert main(["org", "export", "--org", "Cli Shop", "--out", str(out)]) == 0
    assert "1 manuals" in capsys.readouterr().out
    assert "documents.json" in zipfile.ZipFile(out).namelist()

    monkeypatch.setattr("builtins.input", lambda prompt="": "Cli")
    assert main(["org", "delete", "--org", "Cli Shop"]) == 2
    assert "type its name exactly" in capsys.readouterr().err
    assert _tenant_counts(shop.org_id)["documents"] == 1
    monkeypatch.setattr("builtins.input", lambda prompt="": "Cli Shop")
    assert main(["org", "delete", "--org", str(shop.org_id)]) == 0
    assert "deleted organization" in capsys.readouterr().out
    assert set(_tenant_counts(shop.org_id).values()) == {0}
