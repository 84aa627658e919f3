"""`backup` and `restore`: the database and every uploaded file (`make backup`, `make restore`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    b = sub.add_parser("backup", help="pg_dump of the database plus every uploaded file")
    b.add_argument("--to", type=Path, default=None, help="parent folder (default BACKUP_DIR)")
    b.set_defaults(func=run_backup)
    r = sub.add_parser("restore", help="restore a backup folder (replaces the database)")
    r.add_argument("folder", type=Path, help="a folder written by `backup`")
    r.add_argument(
        "--database-url",
        default=None,
        help="restore into this database instead of the configured one (a URL of its owner role)",
    )
    r.add_argument("--no-files", action="store_true", help="restore only the database")
    r.add_argument(
        "--yes", action="store_true", help="do not ask before replacing the configured database"
    )
    r.set_defaults(func=run_restore)


def run_backup(args: argparse.Namespace) -> int:
    from techdocs_app.backup import BackupError, create_backup

    try:
        folder = create_backup(args.to)
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"backup: {folder}")
    return 0


def run_restore(args: argparse.Namespace) -> int:
    from techdocs_app.backup import BackupError, read_manifest, restore_backup
    from techdocs_app.settings import get_settings

    try:
        manifest = read_manifest(args.folder)
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    target = args.database_url or get_settings().effective_owner_database_url
    if not args.database_url and not args.yes:
        print(
            f"This replaces every table of the configured database with the backup of "
            f"{manifest['created_at']} ({manifest['documents']} documents)."
        )
        if input('Type "restore" to continue: ').strip() != "restore":
            print("Nothing was changed.")
            return 1
    try:
        result = restore_backup(
            args.folder, database_url=args.database_url, restore_files=not args.no_files
        )
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    where = target.rsplit("@", 1)[-1]
    print(f"restored into {where}: {result['files']} files")
    return 0
