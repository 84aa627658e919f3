"""Retrieval and answer evaluation over a PDF corpus and a JSONL question file.

Every PDF goes through the real ingestion pipeline (`rag.ingest.ingest_path`) into a scratch
organization named after a fingerprint of the corpus (file names, sizes, mtimes) and of the
ingestion code (`INGESTION_MODULES`), so an unchanged corpus is ingested once per ingestion code and
reused. Every question goes through the real `ask()`: a follow-up is
asked right after the question it follows, in the same conversation; every other question starts a
fresh conversation. The organization's index version is bumped at the start of a run so that the
answer cache of a previous run cannot stand in for the pipeline being measured.

Metrics (shared/eval/README.md): recall@5, mrr@10 (over answerable questions, on the ranking after
rerank), not_found_acc (over not_in_docs), false_refusal and evidence_in_answer (over answerable);
and, for issue 9's targets: closest (the share of answerable questions answered with "closest
passages"), followup_mrr (mrr@10 over follow-ups) and median_words (of the answers given to
answerable questions).

Several question sets are scored in one run (dev, tune, validate) and printed side by side. The
per-question lines and per-question JSON are only ever written for sets other than `validate`:
nobody reads validate's questions one by one, so nobody can tune on them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import secrets
import statistics
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from techdocs_app.auth import Principal
from techdocs_app.rag.units import strip_conversions
from techdocs_app.settings import get_settings

log = logging.getLogger(__name__)

NOT_IN_DOCS = "not_in_docs"
FOLLOWUP = "followup"
HIDDEN_SETS = frozenset({"validate"})
"""Sets whose per-question results are never printed or saved (aggregates only)."""
HIDDEN_PREFIXES = ("fresh",)
"""And every set named so: the held-out probes (`fresh_*`, `fresh2_*`, tests/eval/README.md),
run once at the end of a round, aggregates only."""


def is_hidden(name: str) -> bool:
    """Whether a question set (named by its file's stem) is held out: aggregates only."""
    return name in HIDDEN_SETS or name.startswith(HIDDEN_PREFIXES)


@dataclass
class Question:
    id: str
    question: str
    kind: str
    doc: str | None
    pages: list[int]
    evidence: str = ""
    followup_of: str | None = None
    answer: str = ""


@dataclass
class QuestionResult:
    id: str
    kind: str
    question: str
    standalone_query: str = ""
    answer: str = ""
    not_found: bool = False
    outcome: str = ""
    """answer, closest or not_found (empty when the question failed)."""
    failed: str | None = None
    rank: int | None = None
    """1-based rank of the first relevant chunk in the ranking after rerank (None: not in top 10)."""
    evidence_found: bool = False
    cache_hit: bool = False
    total_ms: float = 0.0
    evidence_features: dict[str, Any] = field(default_factory=dict)
    top: list[str] = field(default_factory=list)


def load_questions(path: Path) -> list[Question]:
    questions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        d = json.loads(line)
        questions.append(
            Question(
                id=d["id"],
                question=d["question"],
                kind=d.get("kind", ""),
                doc=d.get("doc"),
                pages=[int(p) for p in d.get("pages") or []],
                evidence=d.get("evidence", "") or "",
                followup_of=d.get("followup_of"),
                answer=d.get("answer", ""),
            )
        )
    return questions


def conversation_order(questions: Sequence[Question]) -> list[Question]:
    """Questions in file order, with each follow-up moved right after the question it follows."""
    by_parent: dict[str, list[Question]] = defaultdict(list)
    ids = {q.id for q in questions}
    roots = []
    for q in questions:
        if q.followup_of and q.followup_of in ids:
            by_parent[q.followup_of].append(q)
        else:
            roots.append(q)
    ordered: list[Question] = []

    def _add(q: Question) -> None:
        ordered.append(q)
        for child in by_parent.get(q.id, []):
            _add(child)

    for q in roots:
        _add(q)
    return ordered


def corpus_files(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.iterdir() if p.suffix.lower() == ".pdf" and p.is_file())


INGESTION_MODULES = (
    "rag/ingest.py",
    "rag/chunking.py",
    "rag/pdf",
    "text/identifiers.py",
    "text/wordpiece.py",
    "text/words.py",
    "providers/local_embed.py",
)
"""The code that decides what an ingested manual's stored chunks hold (extraction, headings,
chunk boundaries, identifiers, token counts, vectors), relative to the package. Its source is part
of the corpus fingerprint: a change to the chunker must not be measured on chunks the old chunker
made (before, an unchanged corpus reused its ingestion whatever the code, and a chunking fix
measured nothing until someone touched the PDFs). `text/words.py` is read at ingestion too: its
STOPWORDS tell the PDF reader's prose lines (`rag/pdf/raw.py`) and its `compact` makes the stored
identifier keys (`text/identifiers.py`); nothing else of it is stored (its terms are computed at
question time, from the question and the stored text alike)."""


def ingestion_code_digest(root: Path | None = None) -> str:
    """A digest of the source of `INGESTION_MODULES` (every .py file under a folder) of the
    package at `root` (this one by default)."""
    root = root or Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for entry in INGESTION_MODULES:
        target = root / entry
        paths = sorted(target.rglob("*.py")) if target.is_dir() else [target]
        for path in paths:
            digest.update(f"{path.relative_to(root).as_posix()}\x1f".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def corpus_fingerprint(files: Sequence[Path]) -> str:
    """The corpus's files (names, sizes, mtimes), the ingestion code that read them
    (`ingestion_code_digest`) and the chunk sizes it was given (`CHUNK_TOKENS`,
    `CHUNK_OVERLAP_TOKENS`, `PARENT_CHUNK_TOKENS`, which `.env` may set): the name of the scratch
    organization that holds their ingestion."""
    digest = hashlib.sha256()
    for path in files:
        stat = path.stat()
        digest.update(f"{path.name}\x1f{stat.st_size}\x1f{int(stat.st_mtime)}\n".encode())
    digest.update(ingestion_code_digest().encode())
    settings = get_settings()
    digest.update(
        f"{settings.chunk_tokens}\x1f{settings.chunk_overlap_tokens}"
        f"\x1f{settings.parent_chunk_tokens}".encode()
    )
    return digest.hexdigest()[:12]


def scratch_principal(fingerprint: str) -> Principal:
    """The owner of the scratch organization for this corpus, created on first use."""
    from techdocs_app.auth import local
    from techdocs_app.db.engine import system_session_scope
    from techdocs_app.db.owners import find_owner

    name = f"eval-corpus-{fingerprint}"
    try:
        with system_session_scope() as session:
            return Principal(**find_owner(session, org=name)._asdict())
    except LookupError:
        return local.sign_up(
            org_name=name,
            email=f"eval-{fingerprint}@eval.techdocs.example",
            password=secrets.token_urlsafe(24),
        )


def ingest_corpus(
    principal: Principal, files: Sequence[Path], *, echo: Callable[[str], None] = print
) -> dict[str, int]:
    """Ingest each PDF (an already-ready duplicate is returned as is). Returns stem -> document id."""
    from techdocs_app.providers import get_embedder
    from techdocs_app.rag.ingest import ingest_path, run_ingest

    embed_model = get_embedder().model_name
    documents: dict[str, int] = {}
    for path in files:
        t = time.perf_counter()
        try:
            document = ingest_path(
                org_id=principal.org_id, path=path, uploaded_by=principal.user_id
            )
        except Exception as exc:  # noqa: BLE001 - one bad PDF must not stop the evaluation
            log.exception("ingest of %s failed", path.name)
            echo(f"  {path.name}: FAILED to ingest ({type(exc).__name__}); its questions will miss")
            continue
        if document.status == "ready" and document.embed_model != embed_model:
            # Indexed by another embedding model: its vectors cannot be searched with ours.
            assert document.id is not None
            document = run_ingest(document.id) or document
        took = time.perf_counter() - t
        if document.status != "ready":
            echo(f"  {path.name}: {document.status} ({document.error_message or 'no message'})")
        elif took > 0.5:
            echo(f"  {path.name}: ingested {document.chunk_count} chunks in {took:.1f}s")
        assert document.id is not None
        documents[path.stem] = document.id
    return documents


def bump_scratch_index(principal: Principal) -> None:
    from techdocs_app.db import accounts
    from techdocs_app.db.engine import session_scope

    with session_scope(org_id=principal.org_id) as session:
        accounts.bump_index_version(session, org_id=principal.org_id)


def _fold(text: str) -> str:
    """Case, whitespace and table pipes folded: a quoted table row '| a | b |' reads 'a b'; and
    Unicode compatibility forms (NFKC), as ingestion stores them: the manual's '185℃' is the
    answer's '185°C', its fullwidth '：' a ':'."""
    text = unicodedata.normalize("NFKC", text)
    return " ".join(text.lower().replace("|", " ").split())


def relevant_rank(ranked: Sequence[dict[str, Any]], q: Question, limit: int = 10) -> int | None:
    wanted = set(q.pages)
    for i, r in enumerate(ranked[:limit], start=1):
        if Path(r["filename"]).stem != q.doc:
            continue
        if any(r["page_start"] <= p <= r["page_end"] for p in wanted):
            return i
    return None


async def ask_questions(
    principal: Principal,
    questions: Sequence[Question],
    *,
    echo: Callable[[str], None] | None = print,
) -> list[QuestionResult]:
    """Every question through `ask()`; `echo` gets one line per question (None: silent)."""
    from techdocs_app.rag import answer as answer_mod

    conversations: dict[str, int] = {}
    results = []
    echo = echo if echo is not None else _silent
    for q in conversation_order(questions):
        trace = answer_mod.AnswerTrace()
        conversation_id = conversations.get(q.followup_of) if q.followup_of else None
        result = QuestionResult(id=q.id, kind=q.kind, question=q.question)
        t = time.perf_counter()
        async for event in answer_mod.ask(
            principal, question=q.question, conversation_id=conversation_id, trace=trace
        ):
            if isinstance(event, answer_mod.Started):
                conversations[q.id] = event.conversation_id
            elif isinstance(event, answer_mod.Done):
                result.answer = event.answer
                result.not_found = event.not_found
                result.outcome = event.outcome
                result.cache_hit = event.cache_hit
            elif isinstance(event, answer_mod.Failed):
                result.failed = event.user_message
        result.total_ms = (time.perf_counter() - t) * 1000
        result.standalone_query = trace.standalone_query
        result.evidence_features = dict(trace.evidence)
        result.top = [
            f"{Path(r['filename']).stem}:{r['page_start']}-{r['page_end']}"
            for r in trace.ranked[:5]
        ]
        if q.kind != NOT_IN_DOCS:
            result.rank = relevant_rank(trace.ranked, q)
            result.evidence_found = bool(q.evidence) and _fold(q.evidence) in _fold(
                strip_conversions(result.answer)
            )
        results.append(result)
        mark = {"not_found": "NF", "closest": "CL"}.get(result.outcome, "")
        mark = "ERR" if result.failed else mark
        echo(
            f"  {q.id:>4} {q.kind:<15} rank={result.rank if result.rank else '-':<3} "
            f"{mark:<3} {result.total_ms:6.0f}ms  {result.standalone_query[:70]}"
        )
    return results


def _silent(_: str) -> None:
    return None


def answer_words(text: str) -> int:
    """Words a technician reads: citations, table rules and markdown marks are not words."""
    text = re.sub(r"\[\d+\]|\|?-{3,}\|?|[|*#>]", " ", text)
    return len(text.split())


def metrics(results: Sequence[QuestionResult]) -> dict[str, float]:
    answerable = [r for r in results if r.kind != NOT_IN_DOCS]
    unanswerable = [r for r in results if r.kind == NOT_IN_DOCS]
    followups = [r for r in answerable if r.kind == FOLLOWUP]

    def _share(items: Sequence[QuestionResult], pred: Callable[[QuestionResult], bool]) -> float:
        return sum(1 for r in items if pred(r)) / len(items) if items else 0.0

    def _mrr(items: Sequence[QuestionResult]) -> float:
        return sum(1.0 / r.rank for r in items if r.rank is not None) / len(items) if items else 0.0

    given = [answer_words(r.answer) for r in answerable if r.answer and not r.not_found]
    return {
        "recall@5": _share(answerable, lambda r: r.rank is not None and r.rank <= 5),
        "mrr@10": _mrr(answerable),
        "not_found_acc": _share(unanswerable, lambda r: r.not_found),
        "false_refusal": _share(answerable, lambda r: r.not_found or r.failed is not None),
        "closest": _share(answerable, lambda r: r.outcome == "closest"),
        "evidence_in_answer": _share(answerable, lambda r: r.evidence_found),
        "followup_mrr": _mrr(followups),
        "median_words": float(statistics.median(given)) if given else 0.0,
        "n": float(len(results)),
    }


def kind_table(results: Sequence[QuestionResult]) -> list[str]:
    by_kind: dict[str, list[QuestionResult]] = defaultdict(list)
    for r in results:
        by_kind[r.kind].append(r)
    lines = [
        f"{'kind':<16}{'n':>4}{'recall@5':>10}{'mrr@10':>9}{'not_found':>11}{'evidence':>10}"
        f"{'p50_ms':>9}"
    ]
    for kind in sorted(by_kind):
        items = by_kind[kind]
        m = metrics(items)
        nf = sum(1 for r in items if r.not_found) / len(items)
        p50 = statistics.median(r.total_ms for r in items)
        if kind == NOT_IN_DOCS:
            lines.append(
                f"{kind:<16}{len(items):>4}{'-':>10}{'-':>9}{nf:>11.3f}{'-':>10}{p50:>9.0f}"
            )
        else:
            lines.append(
                f"{kind:<16}{len(items):>4}{m['recall@5']:>10.3f}{m['mrr@10']:>9.3f}"
                f"{nf:>11.3f}{m['evidence_in_answer']:>10.3f}{p50:>9.0f}"
            )
    return lines


def summary_line(m: dict[str, float], name: str | None = None) -> str:
    """`eval: recall@5=… … n=…` (with `set=NAME` first when several sets are scored)."""
    label = f"set={name} " if name else ""
    extra = (
        f" closest={m['closest']:.3f} followup_mrr={m['followup_mrr']:.3f}"
        f" median_words={m['median_words']:.0f}"
        if "closest" in m
        else ""
    )
    return (
        f"eval: {label}recall@5={m['recall@5']:.3f} mrr@10={m['mrr@10']:.3f} "
        f"not_found_acc={m['not_found_acc']:.3f} false_refusal={m['false_refusal']:.3f} "
        f"evidence_in_answer={m['evidence_in_answer']:.3f}{extra} n={int(m['n'])}"
    )


SIDE_BY_SIDE = (
    ("recall@5", "recall@5"),
    ("mrr@10", "mrr@10"),
    ("not_found_acc", "not-found"),
    ("false_refusal", "false-ref"),
    ("closest", "closest"),
    ("evidence_in_answer", "evidence"),
    ("followup_mrr", "fu-mrr"),
    ("median_words", "words"),
)


def side_by_side(by_set: dict[str, dict[str, float]]) -> list[str]:
    """The sets' metrics in columns, and the tune - validate gap when both were scored."""
    names = list(by_set)
    width = {n: max(10, len(n) + 2) for n in names}  # a long set name keeps its column apart
    lines = [f"{'measure':<14}" + "".join(f"{n:>{width[n]}}" for n in names)]
    gap = "tune" in by_set and "validate" in by_set
    if gap:
        lines[0] += f"{'gap t-v':>10}"
    for key, label in SIDE_BY_SIDE:
        decimals = 0 if key == "median_words" else 3
        row = f"{label:<14}" + "".join(f"{by_set[n][key]:>{width[n]}.{decimals}f}" for n in names)
        if gap:
            difference = by_set["tune"][key] - by_set["validate"][key]
            row += f"{difference:>+10.{decimals}f}"
        lines.append(row)
    lines.append(f"{'n':<14}" + "".join(f"{int(by_set[n]['n']):>{width[n]}}" for n in names))
    return lines


def run_eval(
    *,
    question_sets: dict[str, Path],
    corpus: Path,
    json_out: Path | None = None,
    echo: Callable[[str], None] = print,
) -> dict[str, dict[str, float]]:
    """Score each named question file; returns {set name: metrics}. Per-question lines and JSON
    are written for every set except the held-out ones (`is_hidden`)."""
    files = corpus_files(corpus)
    if not files:
        raise FileNotFoundError(f"no PDFs in {corpus}")
    fingerprint = corpus_fingerprint(files)
    principal = scratch_principal(fingerprint)
    echo(f"corpus: {len(files)} PDFs -> organization {principal.org_name} (id {principal.org_id})")
    ingest_corpus(principal, files, echo=echo)
    bump_scratch_index(principal)
    by_set: dict[str, dict[str, float]] = {}
    saved: dict[str, Any] = {}
    for name, path in question_sets.items():
        hidden = is_hidden(name)
        echo(f"-- {name}: {path}" + (" (aggregates only)" if hidden else ""))
        questions = load_questions(path)
        results = asyncio.run(ask_questions(principal, questions, echo=None if hidden else echo))
        m = metrics(results)
        by_set[name] = m
        for line in kind_table(results):
            echo(line)
        if not hidden:
            saved[name] = {"metrics": m, "results": [asdict(r) for r in results]}
        else:
            saved[name] = {"metrics": m}
    if json_out is not None:
        json_out.write_text(json.dumps(saved, indent=2, default=str), encoding="utf-8")
    if len(by_set) > 1:
        for line in side_by_side(by_set):
            echo(line)
        for name, m in by_set.items():
            echo(summary_line(m, name))
    else:
        echo(summary_line(next(iter(by_set.values()))))
    return by_set
