"""Page images with Supabase Storage (issue 10 §2): a manual is downloaded once for all its page
images, not once per image, and uploads stream the file from disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.supabase import running_fake_supabase

pytestmark = pytest.mark.integration


def test_page_images_download_the_manual_once(
    make_org, corpus_dir: Path, monkeypatch, tmp_path: Path
) -> None:  # noqa: ANN001
    from techdocs_app import library, page_images
    from techdocs_app.settings import get_settings
    from techdocs_app.storage import SupabaseFileStore, get_file_store, reset_file_store

    with running_fake_supabase() as fake:
        monkeypatch.setenv("SUPABASE_URL", fake.url)
        monkeypatch.setenv("SUPABASE_SERVICE_KEY", "service-role-test-key")
        monkeypatch.setenv("DATA_DIR", str(tmp_path))  # an empty PDF cache
        get_settings.cache_clear()
        reset_file_store()
        page_images.page_image_cache().__init__(64 * 1024 * 1024)  # forget earlier images
        try:
            owner = make_org("Bay Auto")
            source = corpus_dir / "trikdis_rt2.pdf"
            view = library.upload_document(owner, filename=source.name, data=source).document
            assert isinstance(get_file_store(), SupabaseFileStore)
            ((bucket, key),) = fake.state.objects
            assert fake.state.objects[(bucket, key)][0] == source.read_bytes()

            def downloads() -> int:
                return sum(1 for method, path in fake.state.requests if method == "GET")

            assert downloads() == 0
            for page in (1, 2, 3, 2):
                png = library.render_page_png(owner, document_id=view.id, page=page, zoom=0.5)
                assert png.startswith(b"\x89PNG")
            library.render_page_png(
                owner,
                document_id=view.id,
                page=1,
                zoom=0.5,
                highlight=[{"page": 1, "x0": 50, "y0": 50, "x1": 300, "y1": 120}],
            )
            assert downloads() == 1
            cached = list((tmp_path / "cache" / "pdf").glob("*.pdf"))
            assert len(cached) == 1 and cached[0].read_bytes() == source.read_bytes()
        finally:
            monkeypatch.undo()
            get_settings.cache_clear()
            reset_file_store()
