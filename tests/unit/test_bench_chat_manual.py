"""`bench chat`'s default manual: found where the tests find the eval corpus (TECHDOCS_EVAL_DIR,
from the environment or the checkout's .env, else ../shared/eval beside the checkout)."""

from __future__ import annotations

from pathlib import Path

import pytest

from techdocs_app.bench.chat import DEFAULT_MANUAL, default_manual, eval_dir


def _corpus_with_manual(root: Path) -> Path:
    (root / "corpus").mkdir(parents=True)
    (root / "corpus" / DEFAULT_MANUAL).write_bytes(b"%PDF-1.4\n")
    return root / "corpus" / DEFAULT_MANUAL


def test_environment_names_the_eval_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manual = _corpus_with_manual(tmp_path / "elsewhere" / "eval")
    checkout = tmp_path / "clone"
    checkout.mkdir()
    monkeypatch.setenv("TECHDOCS_EVAL_DIR", str(tmp_path / "elsewhere" / "eval"))
    assert default_manual(checkout) == manual.resolve()


def test_dotenv_names_the_eval_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TECHDOCS_EVAL_DIR", raising=False)
    manual = _corpus_with_manual(tmp_path / "data" / "eval")
    checkout = tmp_path / "clone"
    checkout.mkdir()
    (checkout / ".env").write_text(f"TECHDOCS_EVAL_DIR={tmp_path / 'data' / 'eval'}\n")
    assert default_manual(checkout) == manual.resolve()


def test_beside_the_checkout_without_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TECHDOCS_EVAL_DIR", raising=False)
    manual = _corpus_with_manual(tmp_path / "shared" / "eval")
    checkout = tmp_path / "repo"
    checkout.mkdir()
    assert eval_dir(checkout) == (tmp_path / "shared" / "eval").resolve()
    assert default_manual(checkout) == manual.resolve()


def test_absent_corpus_says_where_it_looked_and_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TECHDOCS_EVAL_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(SystemExit) as exc:
        default_manual(tmp_path)
    message = str(exc.value)
    assert str(tmp_path / "nowhere" / "corpus" / DEFAULT_MANUAL) in message
    assert "TECHDOCS_EVAL_DIR" in message and "--manual" in message
