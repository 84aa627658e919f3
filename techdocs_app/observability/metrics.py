"""Prometheus metrics (`prometheus-client`), scraped at `/metrics`.

Series (all prefixed `techdocs_`):

| series | type | from |
|---|---|---|
| `questions_total{outcome}` answered / not_found / rejected / failed / cancelled | counter | answer pipeline |
| `answer_stage_seconds{stage}` condense, embed, search, rerank, first_token, total | histogram | answer pipeline |
| `answer_cache_total{result}` hit / miss, and `answer_cache_hit_ratio` | counter, gauge | answer pipeline |
| `provider_errors_total{provider,kind}` kind error / timeout | counter | answer pipeline |
| `rerank_fallbacks_total{provider,reason}` reason timeout / error | counter | answer pipeline |
| `ingest_queue_depth`, `ingest_queue_oldest_job_age_seconds`, `ingest_jobs{state}` | gauge | RQ, at scrape |
| `ingest_pages_total`, `ingest_seconds_total`, `ingest_documents_total{status}`, `ingest_pages_per_second` | counter, gauge | workers, via Redis |
| `documents{status}` (pending / processing / ready / failed) | gauge | Postgres, at scrape |

The app's backend runs several worker processes: with `PROMETHEUS_MULTIPROC_DIR` set (scripts/run_app.sh
sets it) every process writes its counters and histograms there and `/metrics` sums them
(`MultiProcessCollector`). Ingest workers run on other machines, so their counters live in one
Redis hash (`td:metrics:ingest`) that any app process reads at scrape time; queue and document
gauges are read from RQ and Postgres at scrape time. Nothing here holds a question's text.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any, TypeVar, cast

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # Every process writes its own files there; a worker started before the app made it.
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

STAGES = ("condense", "embed", "search", "rerank", "first_token", "total")
OUTCOMES = ("answered", "not_found", "rejected", "failed", "cancelled")
INGEST_HASH = "td:metrics:ingest"

QUESTIONS = Counter("techdocs_questions", "Questions answered, by outcome.", ["outcome"])
STAGE_SECONDS = Histogram(
    "techdocs_answer_stage_seconds",
    "Time of each answer stage (first_token and total: since the question arrived).",
    ["stage"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0),
)
CACHE = Counter("techdocs_answer_cache", "Answer cache look-ups, by result.", ["result"])
PROVIDER_ERRORS = Counter(
    "techdocs_provider_errors",
    "Provider calls that failed an answer, by provider and kind (error or timeout).",
    ["provider", "kind"],
)
FALLBACK_REASONS = ("timeout", "error")
RERANK_FALLBACKS = Counter(
    "techdocs_rerank_fallbacks",
    "Reranker calls that failed, so the answer used the search's fused order instead, by "
    "provider and reason (timeout or error). A follow-up makes three calls.",
    ["provider", "reason"],
)


# --- the answer pipeline --------------------------------------------------------------------


def record_question(
    *,
    outcome: str,
    timings_ms: Mapping[str, float] | None = None,
    cache_hit: bool | None = None,
    provider_error: tuple[str, str] | None = None,
) -> None:
    """Count one finished question. Never raises (metrics must not break an answer)."""
    try:
        QUESTIONS.labels(outcome=outcome if outcome in OUTCOMES else "failed").inc()
        for stage, ms in (timings_ms or {}).items():
            if stage in STAGES and isinstance(ms, int | float) and ms >= 0:
                STAGE_SECONDS.labels(stage=stage).observe(ms / 1000.0)
        if cache_hit is not None:
            CACHE.labels(result="hit" if cache_hit else "miss").inc()
        if provider_error is not None:
            PROVIDER_ERRORS.labels(provider=provider_error[0], kind=provider_error[1]).inc()
    except Exception:  # noqa: BLE001 - metrics are best effort
        log.debug("could not record question metrics", exc_info=True)


def record_rerank_fallback(*, provider: str, reason: str) -> None:
    """Count one reranker call that fell back to the fused order (the answer still arrives, so
    `questions_total` and `provider_errors_total` do not show it). Never raises."""
    try:
        RERANK_FALLBACKS.labels(
            provider=provider, reason=reason if reason in FALLBACK_REASONS else "error"
        ).inc()
    except Exception:  # noqa: BLE001 - metrics are best effort
        log.debug("could not record a rerank fallback", exc_info=True)


def provider_label(provider: object) -> str:
    """A provider's label in the series: its module's vendor prefix ("cohere", "anthropic",
    "openai") or "local" for the embedded defaults."""
    module = type(provider).__module__.rsplit(".", 1)[-1]
    return module.split("_", 1)[0]


_STAGE_PROVIDER = {
    "condense": "condenser",
    "embed": "embedder",
    "rerank": "reranker",
    "answer": "answerer",
}


def provider_of(error: str) -> tuple[str, str] | None:
    """(provider, kind) of an answer's failure, from the trace's `"<Error>:<detail>"`.

    Vendor errors name their vendor first in `detail` ("anthropic answer: timeout"); the
    pipeline's own deadlines name the stage ("embed timed out", "answer stream stalled"), whose
    configured provider is then named (local or the vendor)."""
    kind_name, _, detail = error.partition(":")
    if kind_name not in ("ProviderError", "ProviderTimeout"):
        return None
    kind = "timeout" if kind_name == "ProviderTimeout" or "timed out" in detail else "error"
    first = detail.strip().split(" ", 1)[0].lower() if detail.strip() else ""
    if first in ("anthropic", "openai", "cohere", "supabase", "clerk", "stripe"):
        return first, kind
    stage = "answer" if first in ("answer", "empty") else first
    return _configured_provider(stage), kind


def _configured_provider(stage: str) -> str:
    try:
        from techdocs_app import providers

        factory = getattr(providers, f"get_{_STAGE_PROVIDER.get(stage, 'answerer')}")
        return provider_label(factory())
    except Exception:  # noqa: BLE001 - a name for a label, never a failure
        return "unknown"


F = TypeVar("F", bound=Callable[..., AsyncIterator[Any]])


def observed_answer(new_trace: Callable[[], Any]) -> Callable[[F], F]:
    """Decorate the answer pipeline: `@observed_answer(AnswerTrace)` above `rag.answer.ask`.

    Counts each question's outcome, stage times, cache hit and provider failure from the events
    it yields and its trace (`new_trace()` makes one when the caller passed none). A consumer
    that stops early (a closed stream, a Stop press) counts as `cancelled`."""

    def decorate(ask: F) -> F:
        return _observed(ask, new_trace)

    return decorate


def _observed(ask: F, new_trace: Callable[[], Any]) -> F:
    @functools.wraps(ask)
    async def wrapper(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        trace = kwargs.get("trace")
        if trace is None:
            trace = kwargs["trace"] = new_trace()
        finished = False
        started = time.perf_counter()
        try:
            async for event in ask(*args, **kwargs):
                name = type(event).__name__
                if name == "Done":
                    finished = True
                    record_question(
                        outcome="not_found" if getattr(event, "not_found", False) else "answered",
                        timings_ms=getattr(event, "timings", None),
                        cache_hit=bool(getattr(event, "cache_hit", False)),
                    )
                elif name == "Failed":
                    finished = True
                    error = str(getattr(trace, "error", "") or "")
                    record_question(
                        outcome="rejected" if error.startswith("rejected:") else "failed",
                        timings_ms={"total": (time.perf_counter() - started) * 1000},
                        provider_error=provider_of(error),
                    )
                yield event
        finally:
            if not finished:
                record_question(outcome="cancelled")

    return wrapper  # type: ignore[return-value]


# --- ingestion (workers) --------------------------------------------------------------------


def record_ingest(*, status: str, pages: int, seconds: float) -> None:
    """Count one finished ingest job in Redis (shared by every worker on every machine)."""
    from redis.exceptions import RedisError

    from techdocs_app import jobs

    try:
        with jobs.get_redis().pipeline() as pipe:
            pipe.hincrby(INGEST_HASH, f"documents_{status}", 1)
            if status == "ready":
                pipe.hincrby(INGEST_HASH, "pages", int(pages))
                pipe.hincrbyfloat(INGEST_HASH, "seconds", float(seconds))
            pipe.execute()
    except RedisError:
        log.warning("could not record ingest metrics (redis unavailable)")


# --- scrape-time collectors -----------------------------------------------------------------


class IngestCollector(Collector):
    """Queue depth and oldest job age (RQ), ingest counters (Redis), documents by status (SQL)."""

    def collect(self) -> Iterable[Metric]:
        yield from self._queue()
        yield from self._ingest_counters()
        yield from self._documents()

    def _queue(self) -> Iterable[Metric]:
        """Every organization's ingest queues, read from RQ's registries (`queue_health`)."""
        from redis.exceptions import RedisError

        from techdocs_app.queue_health import fleet_health

        try:
            health = fleet_health()
        except (RedisError, OSError, ValueError) as exc:
            log.warning("metrics: ingest queue unreadable (%s)", type(exc).__name__)
            return
        yield GaugeMetricFamily(
            "techdocs_ingest_queue_depth",
            "Ingest jobs waiting in the queues (every organization).",
            value=health.queued,
        )
        yield GaugeMetricFamily(
            "techdocs_ingest_queue_oldest_job_age_seconds",
            "How long the oldest waiting ingest job has waited (0 when none waits).",
            value=health.oldest_queued_age_s or 0.0,
        )
        family = GaugeMetricFamily(
            "techdocs_ingest_jobs", "Ingest jobs in each RQ registry.", labels=["state"]
        )
        family.add_metric(["running"], health.running)
        family.add_metric(["scheduled"], health.scheduled)
        family.add_metric(["failed"], health.failed)
        yield family
        yield GaugeMetricFamily(
            "techdocs_ingest_workers",
            "Live ingestion workers (recent heartbeat).",
            value=health.workers,
        )

    def _ingest_counters(self) -> Iterable[Metric]:
        from redis.exceptions import RedisError

        from techdocs_app import jobs

        try:
            raw = cast(dict[bytes, bytes], jobs.get_redis().hgetall(INGEST_HASH))
        except RedisError as exc:
            log.warning("metrics: ingest counters unreadable (%s)", type(exc).__name__)
            return
        values = {k.decode(): float(v) for k, v in raw.items()}
        pages, seconds = values.get("pages", 0.0), values.get("seconds", 0.0)
        yield CounterMetricFamily(
            "techdocs_ingest_pages", "Pages of manuals made searchable.", value=pages
        )
        yield CounterMetricFamily(
            "techdocs_ingest_seconds",
            "Time workers spent on documents that became ready.",
            value=seconds,
        )
        documents = CounterMetricFamily(
            "techdocs_ingest_documents", "Ingest jobs finished, by status.", labels=["status"]
        )
        for status in ("ready", "failed"):
            documents.add_metric([status], values.get(f"documents_{status}", 0.0))
        yield documents
        yield GaugeMetricFamily(
            "techdocs_ingest_pages_per_second",
            "Pages per second of work, over every document ingested (rate() of "
            "techdocs_ingest_pages_total gives recent throughput).",
            value=pages / seconds if seconds > 0 else 0.0,
        )

    def _documents(self) -> Iterable[Metric]:
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError

        from techdocs_app.db.engine import system_session_scope

        try:
            # Operator metric over every organization: a maintenance read.
            with system_session_scope() as session:
                rows = (
                    session.connection()
                    .execute(text("SELECT status, count(*) FROM documents GROUP BY status"))
                    .all()
                )
        except SQLAlchemyError as exc:
            log.warning("metrics: document counts unreadable (%s)", type(exc).__name__)
            return
        counts = dict.fromkeys(("pending", "processing", "ready", "failed"), 0)
        counts.update({str(status): int(n) for status, n in rows})
        family = GaugeMetricFamily(
            "techdocs_documents",
            "Documents by status (failed: need an owner's action).",
            labels=["status"],
        )
        for status, n in counts.items():
            family.add_metric([status], n)
        yield family


def _cache_ratio(registry: CollectorRegistry) -> Metric:
    hits = registry.get_sample_value("techdocs_answer_cache_total", {"result": "hit"}) or 0.0
    misses = registry.get_sample_value("techdocs_answer_cache_total", {"result": "miss"}) or 0.0
    total = hits + misses
    return GaugeMetricFamily(
        "techdocs_answer_cache_hit_ratio",
        "Share of questions answered from the answer cache since the app started.",
        value=hits / total if total else 0.0,
    )


def render_metrics() -> tuple[bytes, str]:
    """The exposition text of every series (summed over the app's processes)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        base = CollectorRegistry()
        multiprocess.MultiProcessCollector(base)
    else:
        base = REGISTRY
    scrape = CollectorRegistry()
    ratio = _cache_ratio(base)

    class _Base(Collector):
        def collect(self) -> Iterable[Metric]:
            yield from base.collect()
            yield ratio

    scrape.register(_Base())
    scrape.register(IngestCollector())
    return generate_latest(scrape), CONTENT_TYPE_LATEST
