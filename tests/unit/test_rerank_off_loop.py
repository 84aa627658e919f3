"""The local reranker runs off the event loop (`rag.answer.run_reranker`): same results, and the
loop keeps serving other tasks while it scores."""

from __future__ import annotations

import asyncio
import threading

from techdocs_app.providers.base import RerankCandidate
from techdocs_app.providers.local_rerank import LocalReranker
from techdocs_app.rag.answer import run_reranker
from tests.fakes.vendors import FakeVendors

QUERY = "What supply voltage range and maximum current does the RT2 module accept?"


def _candidates(n: int) -> list[RerankCandidate]:
    topics = ("supply voltage 11-15 V", "current 150 mA", "telephone line", "LED", "protocols")
    return [
        RerankCandidate(
            text=f"Passage {i}: the RT2 module's {topics[i % len(topics)]} "
            + " ".join(f"word{(i * 7 + j) % 97}" for j in range(150)),
            heading=f"Section {i % 9}",
            document_title="Trikdis RT2",
            fused_score=1.0 / (60 + i),
            similarity=0.3 + (i * 13 % 50) / 100,
        )
        for i in range(n)
    ]


class ThreadRecordingReranker(LocalReranker):
    """The real local reranker, noting which thread scored."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[str] = []

    def score(self, query: str, candidates):  # noqa: ANN001, ANN201
        self.threads.append(threading.current_thread().name)
        return super().score(query, candidates)


async def test_same_results_on_the_rerank_thread() -> None:
    reranker = ThreadRecordingReranker()
    candidates = _candidates(20)
    for top_n in (5, 20):
        inline = await reranker.rerank(QUERY, candidates, top_n)
        off_loop = await run_reranker(reranker, QUERY, candidates, top_n)
        assert off_loop == inline and len(off_loop) == top_n
    loop_thread = threading.current_thread().name
    assert reranker.threads[0::2] == [loop_thread] * 2
    assert all(name.startswith("rerank") for name in reranker.threads[1::2])


async def _ticks_while(awaitable) -> int:  # noqa: ANN001
    """How many times another task ran on the loop while `awaitable` was awaited."""
    ticks = 0
    running = True

    async def ticker() -> None:
        nonlocal ticks
        while running:
            await asyncio.sleep(0)
            ticks += 1

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)  # the ticker is running
    start = ticks
    await awaitable
    during = ticks - start
    running = False
    await task
    return during


async def test_the_loop_keeps_serving_while_the_local_reranker_scores() -> None:
    reranker = LocalReranker()
    candidates = _candidates(200)
    # On the loop (as before): nothing else runs until the scoring is done.
    assert await _ticks_while(reranker.rerank(QUERY, candidates, 10)) <= 1
    # Off the loop: other tasks keep running meanwhile.
    assert await _ticks_while(run_reranker(reranker, QUERY, candidates, 10)) > 10


async def test_a_vendor_reranker_stays_on_the_loop(fake: FakeVendors) -> None:
    from techdocs_app.providers.cohere_rerank import CohereReranker

    reranker = CohereReranker(api_key="co-test", base_url=fake.url, timeout_s=5)
    results = await run_reranker(reranker, "supply voltage current", _candidates(5), 3)
    assert len(results) == 3 and len(fake.state.requests_to("rerank")) == 1
