"""Organization export: everything a shop owns, in one zip, for its owner (UI and command line).

Layout (described to the reader by the README.md inside the zip, `EXPORT_README`):

    README.md              the format
    organization.json      the organization and its members
    documents.json         one entry per manual, with the path of its PDF in this zip
    manuals/<id>-<name>    the original PDFs, byte for byte (sha256 in documents.json)
    conversations.json     one entry per conversation, with the path of its file
    conversations/<id>.json  a conversation and all its messages (answers with their sources)

Names inside the zip never come from user input unfiltered: a manual's file name is reduced to
safe characters (a hostile "../../x.pdf" cannot escape the folder it is unpacked into).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from techdocs_app.auth import Principal
from techdocs_app.auth.permissions import Action, require
from techdocs_app.db import organizations as org_db
from techdocs_app.db.engine import session_scope
from techdocs_app.db.models import Conversation, Document, Message
from techdocs_app.errors import NotFound
from techdocs_app.storage import StoredFileMissing, get_file_store

log = logging.getLogger(__name__)

FORMAT_VERSION = 1

EXPORT_README = """# TechDocs AI export

This archive holds everything your organization ("{org_name}") stored in TechDocs AI on
{exported_at} (UTC): its manuals, every conversation of every member with all questions and
answers, and the list of members. Format version {version}. All JSON files are UTF-8; times are
ISO 8601 in UTC.

## Files

- `organization.json`: `organization` (id, name, plan, subscription status, created_at) and
  `members` (email, name, role: owner / admin / member, joined_at).
- `documents.json`: a list of manuals: id, filename (as uploaded), title, sha256, size_bytes,
  pages, status (pending / processing / ready / failed), error_message, created_at,
  processed_at, and `file`: the path of the original PDF in this archive (null with
  `file_missing: true` if the stored copy was missing at export time).
- `manuals/`: the original PDFs, byte for byte (check them against `sha256`).
- `conversations.json`: a list of conversations: id, title, user_email (who asked),
  created_at, updated_at, message_count, and `file`: the path of its file.
- `conversations/<id>.json`: one conversation with `messages` in order. Each message has
  id, role (`user`: the question; `assistant`: the answer), content, created_at, and for answers:
  `sources` (the cited passages: number, document_id, document_title, filename, page_start,
  page_end, heading, snippet), `not_found` (the manuals did not hold the answer),
  `offline_answer` (quoted from the manuals without a language model), latency_ms and
  `feedback` (1 thumbs up, -1 thumbs down, 0 none).

The search index (chunks and embeddings) is not included: it is rebuilt from the manuals.
"""


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def safe_name(name: str, *, limit: int = 100) -> str:
    """A file name safe to create anywhere: letters, digits, dot, dash and underscore only."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "manual"
    return cleaned[-limit:]


def _document_entry(d: Document, file: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": d.id,
        "filename": d.filename,
        "title": d.title,
        "sha256": d.sha256,
        "size_bytes": d.size_bytes,
        "pages": d.pages,
        "status": d.status,
        "error_message": d.error_message,
        "created_at": _iso(d.created_at),
        "processed_at": _iso(d.processed_at),
        "file": file,
    }
    if file is None:
        entry["file_missing"] = True
    return entry


def _message_entry(m: Message) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": m.id,
        "role": m.role,
        "content": m.content,
        "created_at": _iso(m.created_at),
    }
    if m.role == "assistant":
        entry.update(
            sources=[
                {k: s.get(k) for k in _SOURCE_FIELDS if k in s}
                for s in m.sources
                if isinstance(s, dict)
            ],
            not_found=m.not_found,
            offline_answer=m.offline_answer,
            latency_ms=m.latency_ms,
            feedback=m.feedback,
        )
    return entry


_SOURCE_FIELDS = (
    "number",
    "document_id",
    "document_title",
    "filename",
    "page_start",
    "page_end",
    "heading",
    "snippet",
)


def _conversation_entry(c: Conversation, emails: dict[int, str]) -> dict[str, Any]:
    return {
        "id": c.id,
        "title": c.title,
        "user_email": emails.get(c.user_id) if c.user_id is not None else None,
        "document_ids": list(c.document_ids or []),
        "created_at": _iso(c.created_at),
        "updated_at": _iso(c.updated_at),
    }


def _write_json(archive: zipfile.ZipFile, name: str, data: Any) -> None:
    archive.writestr(name, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def export_filename(principal: Principal, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d")
    return f"techdocs-export-{safe_name(principal.org_name.lower(), limit=40)}-{stamp}.zip"


def export_organization(principal: Principal, out: IO[bytes]) -> dict[str, int]:
    """Write the organization's export zip to `out` (owners only). Returns counts."""
    require(principal, Action.EXPORT_ORGANIZATION)
    org_id = principal.org_id
    exported_at = datetime.now(UTC)
    store = get_file_store()
    counts = {"documents": 0, "files": 0, "conversations": 0, "messages": 0, "members": 0}
    with (
        zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        session_scope(org_id=org_id) as session,
    ):
        org = org_db.get_organization(session, org_id=org_id)
        if org is None:
            raise NotFound("Your organization was not found.")
        archive.writestr(
            "README.md",
            EXPORT_README.format(
                org_name=org.name,
                exported_at=exported_at.strftime("%Y-%m-%d %H:%M"),
                version=FORMAT_VERSION,
            ),
        )
        member_rows = org_db.members(session, org_id=org_id)
        emails = {u.id: u.email for _, u in member_rows if u.id is not None}
        _write_json(
            archive,
            "organization.json",
            {
                "format_version": FORMAT_VERSION,
                "exported_at": _iso(exported_at),
                "organization": {
                    "id": org.id,
                    "name": org.name,
                    "plan": org.plan,
                    "subscription_status": org.subscription_status,
                    "created_at": _iso(org.created_at),
                },
                "members": [
                    {
                        "email": u.email,
                        "name": u.name,
                        "role": m.role,
                        "joined_at": _iso(m.created_at),
                    }
                    for m, u in member_rows
                ],
            },
        )
        counts["members"] = len(member_rows)

        entries = []
        for document in org_db.documents(session, org_id=org_id):
            name = f"manuals/{document.id:06d}-{safe_name(document.filename)}"
            if not name.lower().endswith(".pdf"):
                name += ".pdf"
            try:
                data = store.get(document.storage_key)
            except StoredFileMissing:
                log.warning(
                    "export org_id=%s: stored file of document %s missing", org_id, document.id
                )
                entries.append(_document_entry(document, None))
                continue
            if hashlib.sha256(data).hexdigest() != document.sha256:
                log.warning(
                    "export org_id=%s: document %s differs from its sha256", org_id, document.id
                )
            archive.writestr(name, data, compress_type=zipfile.ZIP_STORED)
            entries.append(_document_entry(document, name))
            counts["files"] += 1
        _write_json(archive, "documents.json", entries)
        counts["documents"] = len(entries)

        index = []
        by_id = {c.id: c for c in org_db.conversations(session, org_id=org_id)}
        written: set[int] = set()
        for conversation_id, messages in org_db.messages_by_conversation(session, org_id=org_id):
            conversation = by_id.get(conversation_id)
            if conversation is None:
                continue
            entry = _conversation_entry(conversation, emails)
            file = f"conversations/{conversation_id}.json"
            _write_json(archive, file, {**entry, "messages": [_message_entry(m) for m in messages]})
            index.append({**entry, "message_count": len(messages), "file": file})
            written.add(conversation_id)
            counts["messages"] += len(messages)
        for known_id, conversation in by_id.items():
            if known_id is not None and known_id not in written:
                conversation_id = known_id
                entry = _conversation_entry(conversation, emails)
                file = f"conversations/{conversation_id}.json"
                _write_json(archive, file, {**entry, "messages": []})
                index.append({**entry, "message_count": 0, "file": file})
        index.sort(key=lambda e: e["id"])
        _write_json(archive, "conversations.json", index)
        counts["conversations"] = len(index)
    log.info(
        "organization exported org_id=%s user_id=%s documents=%d conversations=%d messages=%d",
        org_id,
        principal.user_id,
        counts["documents"],
        counts["conversations"],
        counts["messages"],
    )
    return counts


def export_to_path(principal: Principal, path: Path) -> dict[str, int]:
    """Write the export zip to `path` (atomically: a partial file never has the final name)."""
    tmp = path.with_name(path.name + ".part")
    try:
        with tmp.open("wb") as out:
            counts = export_organization(principal, out)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return counts
