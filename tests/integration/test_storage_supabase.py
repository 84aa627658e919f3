"""Supabase Storage through its REST API: the real httpx client against a local server speaking it."""

from __future__ import annotations

from pathlib import Path

import pytest

from techdocs_app import library
from techdocs_app.errors import ProviderError
from techdocs_app.settings import get_settings
from techdocs_app.storage import (
    LocalFileStore,
    StoredFileMissing,
    SupabaseFileStore,
    build_file_store,
    get_file_store,
    reset_file_store,
)
from tests.fakes.supabase import running_fake_supabase

KEY = "orgs/7/documents/0123abcd.pdf"


@pytest.fixture
def fake():  # noqa: ANN201
    with running_fake_supabase() as server:
        yield server


def _store(fake, key: str = "service-role-test-key") -> SupabaseFileStore:  # noqa: ANN001
    return SupabaseFileStore(url=fake.url, service_key=key, bucket="manuals")


def test_put_get_exists_delete(fake) -> None:  # noqa: ANN001
    store = _store(fake)
    assert not store.exists(KEY)
    store.put(KEY, b"%PDF-1.7 one")
    store.put(KEY, b"%PDF-1.7 two")  # upsert
    assert store.exists(KEY) and store.get(KEY) == b"%PDF-1.7 two"
    with store.local_copy(KEY) as path:
        assert path.read_bytes() == b"%PDF-1.7 two"
    assert not path.exists()  # the temporary copy is gone
    store.delete(KEY)
    store.delete(KEY)  # deleting a missing object is not an error
    assert not store.exists(KEY)
    with pytest.raises(StoredFileMissing):
        store.get(KEY)
    assert ("manuals", KEY) not in fake.state.objects


def test_path_segments_are_percent_encoded(fake) -> None:  # noqa: ANN001
    store = _store(fake)
    odd = "orgs/7/documents/a b#c?.pdf"
    store.put(odd, b"x")
    assert ("manuals", odd) in fake.state.objects
    assert store.get(odd) == b"x"


def test_errors_become_provider_errors(fake) -> None:  # noqa: ANN001
    with pytest.raises(ProviderError):
        _store(fake, key="wrong-key").put(KEY, b"x")
    store = _store(fake)
    fake.state.fail_next("POST", 503)
    with pytest.raises(ProviderError) as info:
        store.put(KEY, b"x")
    assert "try again" in info.value.user_message
    store.put(KEY, b"x")  # the next attempt succeeds


def test_unreachable_store_is_a_provider_error() -> None:
    store = SupabaseFileStore(url="http://127.0.0.1:9", service_key="k", bucket="manuals")
    with pytest.raises(ProviderError):
        store.get(KEY)


def test_keys_cannot_escape_their_namespace(tmp_path: Path) -> None:
    local = LocalFileStore(tmp_path)
    for bad in ("../x.pdf", "orgs/1/../../x.pdf", "/etc/passwd", "", "orgs//x"):
        with pytest.raises(ValueError):
            local.put(bad, b"x")


def test_settings_choose_the_store(monkeypatch, fake) -> None:  # noqa: ANN001
    settings = get_settings().model_copy(update={"supabase_url": None})
    assert isinstance(build_file_store(settings), LocalFileStore)
    monkeypatch.setenv("SUPABASE_URL", fake.url)
    monkeypatch.setenv("SUPABASE_SERVICE_KEY", "service-role-test-key")
    get_settings.cache_clear()
    try:
        assert isinstance(build_file_store(get_settings()), SupabaseFileStore)
    finally:
        monkeypatch.delenv("SUPABASE_URL")
        monkeypatch.delenv("SUPABASE_SERVICE_KEY")
        get_settings.cache_clear()


def test_upload_and_delete_through_supabase(make_org, corpus_dir: Path, monkeypatch, fake) -> None:  # noqa: ANN001
    monkeypatch.setenv("SUPABASE_URL", fake.url)
    monkeypatch.setenv("SUPABASE_SERVICE_KEY", "service-role-test-key")
    get_settings.cache_clear()
    reset_file_store()
    try:
        owner = make_org("Bay Auto")
        data = (corpus_dir / "trikdis_rt2.pdf").read_bytes()
        view = library.upload_document(owner, filename="trikdis_rt2.pdf", data=data).document
        assert isinstance(get_file_store(), SupabaseFileStore)
        ((bucket, key),) = fake.state.objects.keys()
        assert bucket == "manuals" and key.startswith(f"orgs/{owner.org_id}/documents/")
        assert fake.state.objects[(bucket, key)][0] == data
        png = library.render_page_png(owner, document_id=view.id, page=1, zoom=0.5)
        assert png.startswith(b"\x89PNG")
        library.delete_document(owner, document_id=view.id)
        assert fake.state.objects == {}
    finally:
        monkeypatch.delenv("SUPABASE_URL")
        monkeypatch.delenv("SUPABASE_SERVICE_KEY")
        get_settings.cache_clear()
        reset_file_store()
