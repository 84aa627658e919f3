"""Import direction: a table of which package may import which; services and workers never import
reflex; vendor SDKs only in their modules; the text helpers import nothing of the app."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "techdocs_app"
UI_PARTS = ("state", "pages", "components")
UI_MODULES = {"techdocs_app.techdocs_app"}

VENDOR_SDKS = {
    "openai": ("providers/openai_",),
    "anthropic": ("providers/anthropic_",),
    "cohere": ("providers/cohere_",),
    "stripe": ("billing",),
    "clerk_backend_api": ("auth/clerk",),
    "svix": ("auth/clerk", "billing"),
}


def _service_modules() -> list[str]:
    names = []
    for path in sorted(APP.rglob("*.py")):
        rel = path.relative_to(REPO).with_suffix("")
        parts = rel.parts
        if len(parts) > 1 and parts[1] in UI_PARTS:
            continue
        name = ".".join(parts).removesuffix(".__init__")
        if name in UI_MODULES:
            continue
        names.append(name)
    names += [
        f"workers.{p.stem}" for p in sorted((REPO / "workers").glob("*.py")) if p.stem != "__init__"
    ]
    return names


def test_services_and_workers_do_not_import_reflex() -> None:
    modules = _service_modules()
    assert "techdocs_app.settings" in modules
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "bad = sorted(k for k in sys.modules if k == 'reflex' or k.startswith('reflex.'))\n"
        "print('REFLEX:' + ','.join(bad[:5]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "REFLEX:\n" in out.stdout, f"a service module imports reflex: {out.stdout}"


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_vendor_sdks_only_in_their_provider_modules() -> None:
    offenders = []
    for path in sorted([*APP.rglob("*.py"), *(REPO / "workers").rglob("*.py")]):
        rel = path.relative_to(APP).as_posix() if APP in path.parents else path.name
        for sdk in _imported_roots(path) & VENDOR_SDKS.keys():
            if not rel.startswith(VENDOR_SDKS[sdk]):
                offenders.append(f"{rel} imports {sdk}")
    assert offenders == []


# Which parts of the app each part may import (lazy imports inside functions count too). A part
# is a top-level package or module of techdocs_app (`workers` is the worker package). The order
# follows DESIGN.md: pages → components → state → services → db, providers → text, settings,
# errors. A new part needs a row here; an import not in its row fails the test.
_BASE = frozenset({"settings", "errors"})
_INFRA = _BASE | {"db", "text"}
_SERVICES = _INFRA | {
    "auth",
    "billing",
    "cache",
    "conversations",
    "jobs",
    "library",
    "maintenance",
    "memory",
    "page_images",
    "providers",
    "queue_health",
    "rag",
    "ratelimit",
    "retention",
    "safe_text",
    "storage",
    "throttles",
    "upload_spool",
    "usage",
    "usage_view",
    "work_pools",
}
ALLOWED_IMPORTS: dict[str, frozenset[str]] = {
    # foundations: nothing of the app (settings and errors may not even import each other)
    "text": frozenset(),
    "settings": frozenset(),
    "errors": frozenset(),
    # data and vendors
    "db": _BASE,
    "providers": _BASE | {"text"},
    "cache": _BASE,
    "storage": _BASE,
    "jobs": _BASE,
    "embedded": _BASE,
    # hostile-input guards and limits: text made safe to render, bounded page images, the upload
    # spool, the Redis rate limiter
    "safe_text": frozenset(),
    "page_images": _BASE | {"work_pools"},
    "upload_spool": _BASE,
    # threads of their own for work a hostile upload can make slow (page images, PDF checks)
    "work_pools": frozenset(),
    "ratelimit": _BASE | {"cache"},
    # operations: health and readiness checks, metrics (reading RQ through queue_health and the
    # configured providers' names), logs
    "observability": _INFRA | {"cache", "jobs", "providers", "queue_health"},
    # services
    "auth": _INFRA,
    # plans and Stripe: the status policy, the read-only check, Checkout/Portal, webhooks
    "billing": _INFRA | {"auth"},
    "memory": _INFRA | {"cache", "providers"},
    "rag": _INFRA | {"auth", "billing", "cache", "memory", "observability", "providers", "storage"},
    "conversations": _INFRA | {"auth", "memory", "rag"},
    "library": _INFRA
    | {"auth", "billing", "jobs", "page_images", "providers", "rag", "storage", "throttles"},
    # the ingestion queue: periodic maintenance (reconcile, sweeps), health read from RQ
    "maintenance": _INFRA | {"jobs", "rag"},
    # the product's limits (sign-in, sign-up, questions, uploads) and query-log retention
    "throttles": _INFRA | {"auth", "cache", "ratelimit"},
    "retention": _INFRA,
    # the usage page's figures (one SQL aggregate each) and their shaping for charts and lists
    "usage": _INFRA | {"auth"},
    "usage_view": _BASE | {"db", "usage"},
    "queue_health": _INFRA | {"auth", "jobs"},
    # ASGI middleware around the whole app: security headers, CORS, the upload guard
    "web": _SERVICES,
    # a shop owns its data, and its integrations: API keys, backups, export, deletion
    "api_keys": _INFRA | {"auth"},
    "backup": _INFRA | {"embedded", "jobs", "storage"},
    "organization_export": _INFRA | {"auth", "storage"},
    "organization_deletion": _INFRA | {"auth", "jobs", "storage"},
    # web routes outside Reflex (page images, health)
    # vendor webhooks (Clerk) and sign-in routes
    "webhooks": _BASE | {"auth", "billing"},
    "api": _SERVICES | {"downloads", "observability", "rest", "webhooks"},
    # the REST API v1 (mounted by api) and the session-authenticated export download
    "rest": _SERVICES | {"api_keys", "observability", "ratelimit", "throttles"},
    "downloads": _INFRA | {"auth", "observability", "organization_export"},
    # the Reflex UI
    "state": _SERVICES | {"api", "api_keys", "downloads", "organization_deletion"},
    "components": _BASE,
    "pages": _BASE | {"components", "state"},
    "techdocs_app": _SERVICES | {"api", "components", "observability", "pages", "state", "web"},
    # entry points and tools
    "workers": _SERVICES | {"observability"},
    "cli": _SERVICES
    | {
        "backup",
        "bench",
        "embedded",
        "observability",
        "organization_deletion",
        "organization_export",
    },
    "bench": _SERVICES | {"embedded", "state"},
    "__main__": _SERVICES | {"cli"},
}


def _part(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    if rel.parts[0] == "workers":
        return "workers"
    return rel.parts[1]


def _app_imports(path: Path) -> set[str]:
    """The parts of the app (`techdocs_app.X`, `workers`) that a file imports, lazily or not."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "techdocs_app":
                names = [f"techdocs_app.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "techdocs_app" and len(parts) > 1:
                found.add(parts[1])
            elif parts[0] == "workers":
                found.add("workers")
    return found


def test_every_import_between_parts_is_in_the_table() -> None:
    files = sorted([*APP.rglob("*.py"), *(REPO / "workers").rglob("*.py")])
    assert files
    unknown: set[str] = set()
    offenders: list[str] = []
    for path in files:
        if path == APP / "__init__.py":
            continue
        part = _part(path)
        if part not in ALLOWED_IMPORTS:
            unknown.add(part)
            continue
        for target in sorted(_app_imports(path) - {part}):
            if target not in ALLOWED_IMPORTS[part]:
                offenders.append(f"{path.relative_to(REPO)} ({part}) imports {target}")
    assert not unknown, f"add a row to ALLOWED_IMPORTS for: {sorted(unknown)}"
    assert offenders == []


def test_the_text_helpers_run_without_the_rest_of_the_app() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "import techdocs_app.text as pkg\n"
        "for m in pkgutil.iter_modules(pkg.__path__):\n"
        "    importlib.import_module(f'techdocs_app.text.{m.name}')\n"
        "app = sorted(k for k in sys.modules if k.startswith('techdocs_app.')\n"
        "             and not k.startswith('techdocs_app.text'))\n"
        "print('APP:' + ','.join(app))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "APP:\n" in out.stdout, out.stdout


def test_package_init_is_empty() -> None:
    assert (APP / "__init__.py").read_text().strip() == ""
