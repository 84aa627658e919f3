"""Import direction: services and workers never import reflex; vendor SDKs only in their modules."""

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


def test_package_init_is_empty() -> None:
    assert (APP / "__init__.py").read_text().strip() == ""
