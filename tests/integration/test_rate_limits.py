"""Rate limits in the real Redis (issue 10 §3): the reusable limiter, the sign-in back-off, the
product's limits, the upload slots, failing open without Redis, and the password-hashing threads
that cannot starve database calls."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest

from techdocs_app.errors import AuthError, RateLimited

pytestmark = pytest.mark.integration


@pytest.fixture
def limits(db, monkeypatch) -> Iterator[None]:  # noqa: ANN001
    """Fresh Redis client and settings for each test (tests change the limits' numbers)."""
    from techdocs_app import cache
    from techdocs_app.settings import get_settings

    cache.reset_redis()
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
    cache.reset_redis()


def _set(monkeypatch: pytest.MonkeyPatch, **values: object) -> None:
    from techdocs_app.settings import get_settings

    for key, value in values.items():
        monkeypatch.setenv(key.upper(), str(value))
    get_settings.cache_clear()


def test_rate_allows_a_burst_then_says_when_to_try_again(limits) -> None:  # noqa: ANN001
    from techdocs_app.ratelimit import Rate, hit, peek

    rate = Rate("test-burst", limit=3, period_s=60)
    for _ in range(3):
        hit(rate, "subject-a")
    assert peek(rate, "subject-a") > 0
    with pytest.raises(RateLimited) as refused:
        hit(rate, "subject-a", what="Too many tests.")
    # One event every 20 s: the next one fits in (just under) 20 s.
    assert 15 <= refused.value.retry_after <= 20
    assert (
        refused.value.user_message == f"Too many tests. Try again in {refused.value.retry_after} s."
    )
    # Other subjects have their own budget; peeking counts nothing.
    assert peek(rate, "subject-b") == 0
    assert peek(rate, "subject-b") == 0
    for _ in range(3):
        hit(rate, "subject-b")


def test_subjects_are_not_stored_in_clear(limits, redis_client) -> None:  # noqa: ANN001
    from techdocs_app.ratelimit import Rate, hit

    hit(Rate("test-privacy", limit=5, period_s=60), "tech@bayauto.example")
    keys = [k.decode() for k in redis_client.keys("td:rl:*")]
    assert keys and not any("bayauto" in k for k in keys)


def test_backoff_doubles_after_the_free_failures_and_success_forgets(limits) -> None:  # noqa: ANN001
    from techdocs_app.ratelimit import Backoff, backoff_wait, check_backoff, record_failure, reset

    backoff = Backoff("test-backoff", free=2, base_s=10, max_s=25, window_s=600)
    assert record_failure(backoff, "s") == 0
    assert record_failure(backoff, "s") == 0
    check_backoff(backoff, "s")  # two free failures: no wait yet
    assert record_failure(backoff, "s") == 10
    with pytest.raises(RateLimited) as refused:
        check_backoff(backoff, "s", what="Too many sign-in attempts.")
    assert 8 <= refused.value.retry_after <= 10
    assert record_failure(backoff, "s") == 20
    assert record_failure(backoff, "s") == 25  # capped at max_s
    assert 20 < backoff_wait(backoff, "s") <= 25
    reset(backoff, "s")
    assert backoff_wait(backoff, "s") == 0


def test_sign_in_back_off_is_per_address_so_the_owner_still_gets_in(
    limits, make_org, monkeypatch
) -> None:  # noqa: ANN001
    """Wrong passwords from an attacker's address block that address for that account, not the
    owner at the shop; the account-wide back-off starts only after many more failures."""
    from techdocs_app import throttles

    _set(monkeypatch, signin_free_failures=3, signin_account_free_failures=6)
    owner = make_org("Bay Auto", email="owner@bayauto.example", password="correct horse 42")
    attacker, shop = "198.51.100.7", "203.0.113.20"

    async def attempts() -> None:
        for _ in range(4):
            with pytest.raises(AuthError):
                await throttles.guarded_sign_in(
                    email=owner.email, password="wrong guess 1", address=attacker
                )
        with pytest.raises(RateLimited) as refused:
            await throttles.guarded_sign_in(
                email=owner.email, password="correct horse 42", address=attacker
            )
        assert "Too many sign-in attempts. Try again in" in refused.value.user_message
        signed_in = await throttles.guarded_sign_in(
            email=owner.email, password="correct horse 42", address=shop
        )
        assert signed_in.user_id == owner.user_id

    asyncio.run(attempts())


def test_account_wide_back_off_after_failures_from_many_addresses(
    limits, make_org, monkeypatch
) -> None:  # noqa: ANN001
    from techdocs_app import throttles

    _set(monkeypatch, signin_free_failures=5, signin_account_free_failures=3)
    owner = make_org("Bay Auto", email="owner@bayauto.example")
    for i in range(4):
        throttles.check_sign_in(email=owner.email, address=f"192.0.2.{i}")
        throttles.sign_in_failed(email=owner.email, address=f"192.0.2.{i}")
    with pytest.raises(RateLimited):
        throttles.check_sign_in(email=owner.email, address="192.0.2.99")
    throttles.sign_in_succeeded(email=owner.email, address="192.0.2.1")
    throttles.check_sign_in(email=owner.email, address="192.0.2.99")


def test_sign_ups_per_address(limits, monkeypatch) -> None:  # noqa: ANN001
    from techdocs_app import throttles

    _set(monkeypatch, signups_per_address_per_hour=2)

    async def sign_ups() -> None:
        for i in range(2):
            await throttles.guarded_sign_up(
                org_name=f"Shop {i}",
                email=f"o{i}@shop.example",
                password="correct horse 42",
                address="198.51.100.1",
            )
        with pytest.raises(RateLimited) as refused:
            await throttles.guarded_sign_up(
                org_name="Shop 3",
                email="o3@shop.example",
                password="correct horse 42",
                address="198.51.100.1",
            )
        assert refused.value.retry_after > 60 * 29  # one new shop every 30 min
        assert "min." in refused.value.user_message
        await throttles.guarded_sign_up(
            org_name="Other network",
            email="o4@shop.example",
            password="correct horse 42",
            address="198.51.100.2",
        )

    asyncio.run(sign_ups())


def test_questions_per_user_per_minute_and_per_org_per_day(limits, make_org, monkeypatch) -> None:  # noqa: ANN001
    from techdocs_app import throttles

    _set(monkeypatch, questions_per_user_per_minute=2, questions_per_org_per_day=3)
    owner = make_org("Shop")
    colleague = replace(owner, user_id=owner.user_id + 1000)
    throttles.check_question(owner)
    throttles.check_question(owner)
    with pytest.raises(RateLimited) as per_user:
        throttles.check_question(owner)
    assert per_user.value.user_message.startswith("You are asking faster than we can answer.")
    throttles.check_question(colleague)  # the third of the shop's day
    with pytest.raises(RateLimited) as per_org:
        throttles.check_question(replace(owner, user_id=owner.user_id + 2000))
    assert per_org.value.user_message.startswith("Your shop has reached today's question limit.")
    assert per_org.value.retry_after > 3600


def test_uploads_per_org_per_hour_and_running_at_once(limits, make_org, monkeypatch) -> None:  # noqa: ANN001
    from techdocs_app import throttles

    _set(monkeypatch, uploads_per_org_per_hour=2, max_concurrent_uploads_per_org=2)
    owner = make_org("Shop")
    other = make_org("Other")
    assert throttles.upload_wait(owner, files=2) == 0
    assert throttles.upload_wait(owner, files=3) > 0
    throttles.count_upload(owner)
    throttles.count_upload(owner)
    with pytest.raises(RateLimited):
        throttles.count_upload(owner)
    throttles.count_upload(other)

    with throttles.upload_slot(owner), throttles.upload_slot(owner):
        assert throttles.uploads_running(owner) == 2
        with pytest.raises(RateLimited) as busy:
            with throttles.upload_slot(owner):
                pass
        assert "already has uploads running" in busy.value.user_message
        with throttles.upload_slot(other):
            pass
    assert throttles.uploads_running(owner) == 0
    with throttles.upload_slot(owner):
        pass


def test_limits_fail_open_when_redis_is_down(limits, monkeypatch, make_org) -> None:  # noqa: ANN001
    from techdocs_app import cache, throttles
    from techdocs_app.ratelimit import Rate, hit

    owner = make_org("Shop")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    _set(monkeypatch, redis_url=f"redis://127.0.0.1:{dead_port}/0", questions_per_user_per_minute=1)
    cache.reset_redis()
    rate = Rate("test-down", limit=1, period_s=60)
    for _ in range(3):
        hit(rate, "s")
        throttles.check_question(owner)
    with throttles.upload_slot(owner):
        pass


def test_password_hashing_cannot_starve_database_calls(limits, make_org, monkeypatch) -> None:  # noqa: ANN001
    """While every hashing thread is busy (and more sign-ins wait), the default executor that
    serves database calls still answers at once; beyond the queue a sign-in is told to retry."""
    from techdocs_app import library
    from techdocs_app.auth import local

    _set(monkeypatch, password_hash_workers=2, password_hash_queue=4)
    local._forget_pool()
    owner = make_org("Shop")
    release = threading.Event()
    started = threading.Semaphore(0)

    def busy_hash() -> str:
        started.release()
        release.wait(30)
        return "hashed"

    async def scenario() -> None:
        waiting = [asyncio.create_task(local.run_password_work(busy_hash)) for _ in range(4)]
        for _ in range(2):  # both hashing threads are running a hash
            assert await asyncio.to_thread(started.acquire, True, 10)
        with pytest.raises(RateLimited) as refused:
            await local.run_password_work(busy_hash)
        assert refused.value.user_message == (
            "Many people are signing in right now. Try again in 2 s."
        )
        # More database work than the default executor has threads, all served meanwhile.
        docs = await asyncio.wait_for(
            asyncio.gather(*(asyncio.to_thread(library.list_documents, owner) for _ in range(12))),
            timeout=30,
        )
        assert all(d == [] for d in docs)
        assert not any(t.done() for t in waiting)
        release.set()
        assert await asyncio.gather(*waiting) == ["hashed"] * 4

    try:
        asyncio.run(scenario())
    finally:
        release.set()
        local._forget_pool()
