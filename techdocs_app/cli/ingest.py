"""`ingest PATH... --org ORG`: process PDFs (files and folders) into an organization, in-process.

ORG is the organization's id or its exact name. Each file goes through the same code path as an
upload (validate → store → extract → chunk → embed → store chunks), without the queue. Prints one
status line per file; exit status 1 when any file was rejected or failed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ingest", help="process PDF files/folders into an organization's library")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="PDF files or folders")
    p.add_argument("--org", required=True, help="organization id or exact name")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def collect_pdfs(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """(PDF files in order, paths that do not exist)."""
    found: list[Path] = []
    missing: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".pdf"
            )
        elif path.is_file():
            found.append(path)
        else:
            missing.append(path)
    seen: set[Path] = set()
    unique = [p for p in found if not (p.resolve() in seen or seen.add(p.resolve()))]
    return unique, missing


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from techdocs_app.db import documents as docs_db
    from techdocs_app.db.engine import system_session_scope
    from techdocs_app.errors import TechDocsError
    from techdocs_app.rag.ingest import ingest_path

    with system_session_scope() as session:
        org = docs_db.find_org(session, org_ref=args.org)
    if org is None or org.id is None:
        print(f"error: no organization with id or name {args.org!r}", file=sys.stderr)
        return 2
    files, missing = collect_pdfs(list(args.paths))
    for path in missing:
        print(f"missing  {path}: no such file or folder", file=sys.stderr)
    if not files:
        print("error: no PDF files found", file=sys.stderr)
        return 2

    failures = len(missing)
    ready = 0
    bar = tqdm(files, unit="file", disable=args.no_progress, file=sys.stderr)
    for path in bar:
        bar.set_postfix_str(path.name[:40])
        try:
            doc = ingest_path(org_id=org.id, path=path)
        except TechDocsError as exc:
            failures += 1
            bar.write(f"rejected {path}: {exc.user_message}")
            continue
        if doc.status == "ready":
            ready += 1
            bar.write(
                f"ready    {path}: {doc.pages} pages, {doc.chunk_count} chunks"
                + (f", {doc.ocr_pages} OCR pages" if doc.ocr_pages else "")
                + f" (document {doc.id})"
            )
        else:
            failures += 1
            bar.write(f"{doc.status:<8} {path}: {doc.error_message or ''} (document {doc.id})")
    print(f"ingest: {ready} of {len(files)} ready in {org.name!r}")
    return 1 if failures else 0
