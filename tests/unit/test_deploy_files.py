"""The deploy files, checked without a Docker engine or a Render account: the Dockerfile
(hadolint, non-root, pinned base, no secrets, one port), docker-compose.yml (readiness health
checks, the release step before the app) and render.yaml (commands that exist, documented variables,
secrets never committed)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|(^|_)KEY$|API_KEY|DATABASE_URL")


def _documented_variables() -> set[str]:
    names = set()
    for line in (REPO / ".env.example").read_text().splitlines():
        match = re.match(r"^([A-Z][A-Z0-9_]*)=", line)
        if match:
            names.add(match.group(1))
    return names


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = (REPO / "Dockerfile").read_text()
    logical: list[str] = []
    buffer = ""
    for line in text.splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        buffer += line.rstrip("\\").rstrip() + " "
        if not line.rstrip().endswith("\\"):
            logical.append(buffer.strip())
            buffer = ""
    out = []
    for entry in logical:
        instruction, _, args = entry.partition(" ")
        out.append((instruction.upper(), args.strip()))
    return out


def _start_roles() -> set[str]:
    script = (REPO / "scripts" / "start.sh").read_text()
    return set(re.findall(r"^\s{2}([a-z]+)\)\s*$", script, flags=re.MULTILINE))


def _api_paths() -> set[str]:
    from techdocs_app.api import api

    return {getattr(route, "path", "") for route in api.routes}


def _assert_start_command(command: str | list[str]) -> None:
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    assert argv[0] == "scripts/start.sh", argv
    script = REPO / argv[0]
    assert script.is_file() and os.access(script, os.X_OK), f"{script} missing or not executable"
    assert len(argv) == 2 and argv[1] in _start_roles(), f"unknown role in {argv}"


# --- Dockerfile -------------------------------------------------------------------------------


def test_dockerfile_is_hadolint_clean() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run(
        [str(hadolint), "--failure-threshold", "style", str(REPO / "Dockerfile")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout


def test_dockerfile_runs_as_a_non_root_user_from_a_pinned_base() -> None:
    steps = _dockerfile()
    bases = [args.split()[0] for instr, args in steps if instr == "FROM"]
    assert bases, "no FROM"
    for base in bases:
        assert "@sha256:" in base or re.search(r":\d+\.\d+\.\d+[-\w.]*$", base), (
            f"base image {base} is not pinned to an exact version"
        )
    users = [args for instr, args in steps if instr == "USER"]
    assert users, "no USER: the image would run as root"
    assert users[-1].split(":")[0] not in ("root", "0")
    # Nothing after the last USER switches back, and it comes before the command.
    names = [instr for instr, _ in steps]
    assert names.index("CMD") > len(names) - 1 - names[::-1].index("USER")


def test_dockerfile_bakes_in_no_secret() -> None:
    for instr, args in _dockerfile():
        if instr in ("ENV", "ARG"):
            for name, _value in re.findall(r"([A-Z_][A-Z0-9_]*)=(\"[^\"]*\"|\S+)", args):
                if SECRET_NAME.search(name):
                    pytest.fail(f"{instr} {name} puts a secret into the image")
        if instr in ("COPY", "ADD"):
            assert ".env" not in args.split(), f"{instr} {args} copies the .env file"
    ignored = (REPO / ".dockerignore").read_text().split()
    for pattern in (".env", ".data", ".git", ".venv"):
        assert pattern in ignored, f".dockerignore must keep {pattern} out of the image"


def test_dockerfile_exposes_one_port_and_starts_the_app_in_production() -> None:
    steps = _dockerfile()
    exposed = [args.split() for instr, args in steps if instr == "EXPOSE"]
    assert len(exposed) == 1 and len(exposed[0]) == 1, exposed
    env = " ".join(args for instr, args in steps if instr == "ENV")
    assert f"PORT={exposed[0][0]}" in env
    assert "ENVIRONMENT=production" in env
    cmd = [args for instr, args in steps if instr == "CMD"][-1]
    _assert_start_command(yaml.safe_load(cmd))
    health = [args for instr, args in steps if instr == "HEALTHCHECK"][-1]
    assert "/api/health" in health and "/api/health" in _api_paths()


# --- docker-compose.yml -----------------------------------------------------------------------


def _compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_app_waits_for_the_database_and_the_release_step() -> None:
    services = _compose()["services"]
    app = services["app"]
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    assert app["depends_on"]["redis"]["condition"] == "service_healthy"
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["worker"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert "/api/ready" in " ".join(app["healthcheck"]["test"])
    assert "/api/ready" in _api_paths()
    assert app["ports"] == ["3000:3000"]
    for name in ("app", "worker", "migrate"):
        _assert_start_command(services[name]["command"])
    assert services["migrate"]["command"][-1] == "migrate"
    for name in ("db", "redis"):
        assert "healthcheck" in services[name]


def test_compose_variables_are_documented() -> None:
    documented = _documented_variables()
    for name, service in _compose()["services"].items():
        if name in ("db", "redis"):
            continue
        missing = set(service.get("environment", {})) - documented
        assert not missing, f"{name} sets variables missing from .env.example: {missing}"


# --- render.yaml ------------------------------------------------------------------------------


def _render() -> dict[str, Any]:
    return yaml.safe_load((REPO / "render.yaml").read_text())


def test_render_blueprint_services_and_commands() -> None:
    services = {s["name"]: s for s in _render()["services"]}
    by_type = {s["type"]: s for s in services.values()}
    assert set(by_type) == {"web", "worker", "keyvalue"}
    web, worker, redis = by_type["web"], by_type["worker"], by_type["keyvalue"]
    for service in (web, worker):
        assert service["runtime"] == "docker"
        assert (REPO / service["dockerfilePath"]).is_file()
        _assert_start_command(service["dockerCommand"])
    assert web["dockerCommand"].endswith(" web") and worker["dockerCommand"].endswith(" worker")
    # The release step, not every start, migrates.
    _assert_start_command(web["preDeployCommand"])
    assert web["preDeployCommand"].endswith(" migrate")
    assert web["healthCheckPath"] in _api_paths()
    assert web["healthCheckPath"] == "/api/ready"
    assert redis["maxmemoryPolicy"] == "noeviction"
    # Every service reference points at a service of this blueprint, of the right type.
    for service in (web, worker):
        for var in service["envVars"]:
            ref = var.get("fromService")
            if ref:
                assert ref["name"] in services and services[ref["name"]]["type"] == ref["type"]


def test_render_variables_are_documented_and_secrets_not_committed() -> None:
    documented = _documented_variables()
    for service in _render()["services"]:
        for var in service.get("envVars", []):
            key = var["key"]
            assert key in documented, f"{service['name']}: {key} is not in .env.example"
            if SECRET_NAME.search(key):
                assert "value" not in var, f"{service['name']}: {key} has a committed value"
                assert (
                    var.get("sync") is False or var.get("generateValue") or var.get("fromService")
                ), f"{service['name']}: {key} must be sync: false"
        keys = {v["key"] for v in service.get("envVars", [])}
        if service["type"] in ("web", "worker"):
            assert {"DATABASE_URL", "REDIS_URL", "SESSION_SECRET", "ENVIRONMENT"} <= keys
            database = next(v for v in service["envVars"] if v["key"] == "DATABASE_URL")
            assert database.get("sync") is False
