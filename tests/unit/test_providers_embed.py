"""Embedders: the local MiniLM model for real, and the OpenAI SDK against a local fake server."""

from __future__ import annotations

import numpy as np
import pytest

from techdocs_app.errors import ProviderError, ProviderTimeout
from techdocs_app.providers.base import EMBED_DIM, Embedder
from techdocs_app.providers.local_embed import LocalEmbedder
from techdocs_app.providers.openai_embed import OpenAIEmbedder
from tests.fakes.vendors import FakeVendors, fake_vector


@pytest.fixture(scope="module")
def local() -> LocalEmbedder:
    return LocalEmbedder()


def _cos(a: list[float], b: list[float]) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_local_embedder_shape_and_normalised(local: LocalEmbedder) -> None:
    assert isinstance(local, Embedder)
    assert local.model_name == "local:all-MiniLM-L6-v2-int8dyn@128"
    vectors = local.embed_documents(
        ["Tighten the caliper bolts to 35 Nm.", "", "x " * 600]  # empty and over-long inputs too
    )
    assert len(vectors) == 3
    for vec in vectors:
        assert len(vec) == EMBED_DIM == local.dim
        assert np.linalg.norm(vec) == pytest.approx(1.0, abs=1e-4)
    assert len(local.embed_query("slide pins")) == EMBED_DIM
    assert local.embed_documents([]) == []


def test_local_embedder_paraphrases_closer_than_unrelated(local: LocalEmbedder) -> None:
    query = local.embed_query("What voltage does the receiver need?")
    para, unrelated = local.embed_documents(
        [
            "The receiver is powered from a 12 V DC supply.",
            "Clean the print bed with isopropyl alcohol before printing.",
        ]
    )
    assert _cos(query, para) > _cos(query, unrelated) + 0.1


def test_local_embedder_deterministic_and_batch_independent(local: LocalEmbedder) -> None:
    texts = [
        "short",
        "Aluminum creep makes crimped lugs work loose over time.",
        "PA11 is USBDM and PA12 is USBDP; D+ should be pulled up with a 1.5 kOhm resistor. " * 3,
    ]
    first = np.array(local.embed_documents(texts))
    again = np.array(local.embed_documents(list(reversed(texts))))[::-1]
    one_by_one = np.array([local.embed_query(t) for t in texts])
    # Padding differs between these calls; masked mean pooling must make it irrelevant.
    np.testing.assert_allclose(first, again, atol=1e-5)
    np.testing.assert_allclose(first, one_by_one, atol=1e-4)
    small_batches = LocalEmbedder(batch_size=1).embed_documents(texts)
    np.testing.assert_allclose(first, np.array(small_batches), atol=1e-4)


def _openai(fake: FakeVendors, **kwargs: object) -> OpenAIEmbedder:
    options: dict = {"api_key": "sk-test", "base_url": fake.url + "/v1", "backoff_s": 0.01}
    options.update(kwargs)
    return OpenAIEmbedder(**options)


def test_openai_embedder_batches_and_decodes_base64(fake: FakeVendors) -> None:
    embedder = _openai(fake)
    assert isinstance(embedder, Embedder)
    assert embedder.model_name == "openai:text-embedding-3-small@384"
    texts = [f"chunk number {i}" for i in range(200)]
    vectors = embedder.embed_documents(texts)

    calls = fake.state.requests_to("embeddings")
    assert [len(c.body["input"]) for c in calls] == [96, 96, 8]
    assert all(c.body["dimensions"] == 384 for c in calls)
    assert all(c.body["model"] == "text-embedding-3-small" for c in calls)
    assert calls[0].headers["authorization"] == "Bearer sk-test"
    assert calls[0].body.get("encoding_format") == "base64"
    assert len(vectors) == 200
    np.testing.assert_allclose(vectors[150], fake_vector("chunk number 150", 384), atol=1e-6)
    np.testing.assert_allclose(
        embedder.embed_query("torque"), fake_vector("torque", 384), atol=1e-6
    )


def test_openai_embedder_retries_429_and_5xx(fake: FakeVendors) -> None:
    fake.state.fail_next("embeddings", 429, 500)
    vector = _openai(fake).embed_query("retry me")
    assert len(fake.state.requests_to("embeddings")) == 3
    np.testing.assert_allclose(vector, fake_vector("retry me", 384), atol=1e-6)


def test_openai_embedder_gives_up_after_bounded_attempts(fake: FakeVendors) -> None:
    fake.state.fail_next("embeddings", 503, 503, 503, 503, 503)
    with pytest.raises(ProviderError) as caught:
        _openai(fake, max_attempts=3).embed_query("always failing")
    assert len(fake.state.requests_to("embeddings")) == 3
    assert "try again" in caught.value.user_message


def test_openai_embedder_does_not_retry_auth_errors(fake: FakeVendors) -> None:
    fake.state.fail_next("embeddings", 401)
    with pytest.raises(ProviderError) as caught:
        _openai(fake).embed_query("bad key")
    assert not isinstance(caught.value, ProviderTimeout)
    assert len(fake.state.requests_to("embeddings")) == 1
    assert "OpenAI key" in caught.value.user_message


def test_openai_embedder_timeout(fake: FakeVendors) -> None:
    fake.state.delay_s["embeddings"] = 2.0
    with pytest.raises(ProviderTimeout):
        _openai(fake, timeout_s=0.2, max_attempts=2).embed_query("slow")
    assert len(fake.state.requests_to("embeddings")) == 2
