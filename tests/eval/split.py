"""Split the independent questions once into ``tune.jsonl`` and ``validate.jsonl``.

Run from the project root: ``.venv/bin/python -m tests.eval.split``. The split is a pure function of
the files in ``tests/eval/written/`` and ``SEED``; ``tests/unit/test_eval_questions.py`` checks that
the committed ``tune.jsonl``/``validate.jsonl`` are exactly its output.

What stays together (one group, always on one side):
- every question that cites a (manual, page), with every other question citing that page
  (questions citing several pages join those pages' groups);
- a follow-up chain (a follow-up joins the question it follows);
- every not-in-docs near miss whose ``closest_doc`` is the same manual.

Groups are placed largest first (ties in a seeded random order) on the side where they best keep
the two halves balanced per manual, per kind, per product family of the near misses, and in size.

The split is made once. Never re-run it to move questions after any result on them has been seen;
questions added later go into a new round (see tests/eval/README.md).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

EVAL_DIR = Path(__file__).resolve().parent
WRITTEN = EVAL_DIR / "written"
SEED = 20240909
SIDES = ("tune", "validate")
KEY_ORDER = (
    "id",
    "question",
    "answer",
    "doc",
    "pages",
    "kind",
    "evidence",
    "followup_of",
    "ocr",
    "closest_doc",
    "phrasing",
)

Question = dict[str, Any]


def load_written(directory: Path = WRITTEN) -> list[Question]:
    """All written questions, file by file (sorted by name), in file order."""
    rows: list[Question] = []
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rows.append(json.loads(line))
    return rows


def _find(parent: dict[str, str], key: str) -> str:
    root = key
    while parent[root] != root:
        root = parent[root]
    while parent[key] != root:
        parent[key], key = root, parent[key]
    return root


def _union(parent: dict[str, str], a: str, b: str) -> None:
    parent.setdefault(a, a)
    parent.setdefault(b, b)
    ra, rb = _find(parent, a), _find(parent, b)
    if ra != rb:
        parent[max(ra, rb)] = min(ra, rb)


def groups(questions: list[Question]) -> list[list[Question]]:
    """Questions that must stay on one side together, each group in written order."""
    parent: dict[str, str] = {}
    for q in questions:
        node = f"q:{q['id']}"
        parent.setdefault(node, node)
        if q["kind"] == "not_in_docs":
            _union(parent, node, f"nid:{q['closest_doc']}")
        for page in q.get("pages") or []:
            _union(parent, node, f"page:{q['doc']}:{page}")
        if q.get("followup_of"):
            _union(parent, node, f"q:{q['followup_of']}")
    by_root: dict[str, list[Question]] = {}
    for q in questions:
        by_root.setdefault(_find(parent, f"q:{q['id']}"), []).append(q)
    return list(by_root.values())


# Product families: near misses of one family are spread over both sides.
FAMILY = {
    "trikdis_rt2": "trikdis",
    "trikdis_r11": "trikdis",
    "trikdis_rl14": "trikdis",
    "btt_skr_mini_e3_v2_manual": "printer",
    "ender3_troubleshooting": "printer",
    "ender3_quickstart": "printer",
    "ender3_reference_data": "printer",
    "ender3_pcb_parts": "printer",
    "arista_qsfp_100g_erl4": "optics",
    "cisco_cfp2_dco": "optics",
    "smartoptics_ts2017_sfp28": "optics",
}


def _bucket(q: Question) -> str:
    return q["doc"] or f"nid:{q['closest_doc']}"


def family(doc: str) -> str:
    return FAMILY.get(doc, doc)


def _cost(counts: dict[str, Counter[str]]) -> int:
    tune, validate = counts["tune"], counts["validate"]
    return sum(abs(tune[k] - validate[k]) for k in set(tune) | set(validate))


def split_questions(questions: list[Question], seed: int = SEED) -> dict[str, list[Question]]:
    """Assign every group to tune or validate; each side keeps the written order."""
    rng = random.Random(seed)
    gs = groups(questions)
    order = list(range(len(gs)))
    rng.shuffle(order)
    order.sort(key=lambda i: -len(gs[i]))  # stable: equal sizes keep the seeded order
    counts: dict[str, Counter[str]] = {side: Counter() for side in SIDES}
    side_of: dict[str, str] = {}
    for i in order:
        group = gs[i]
        features: Counter[str] = Counter()
        for q in group:
            features[f"doc:{_bucket(q)}"] += 1
            features[f"kind:{q['kind']}"] += 1
            features["all"] += 2
            if q.get("phrasing") == "technician":
                features["technician"] += 1
            if q["kind"] == "not_in_docs":
                features[f"nid-family:{family(q['closest_doc'])}"] += 1
        best = None
        for side in SIDES if rng.random() < 0.5 else SIDES[::-1]:
            trial = {s: Counter(c) for s, c in counts.items()}
            trial[side].update(features)
            cost = _cost(trial)
            if best is None or cost < best[0]:
                best = (cost, side)
        assert best is not None
        counts[best[1]].update(features)
        for q in group:
            side_of[q["id"]] = best[1]
    return {side: [q for q in questions if side_of[q["id"]] == side] for side in SIDES}


def dumps(q: Question) -> str:
    ordered = {k: q[k] for k in KEY_ORDER if k in q}
    ordered.update({k: v for k, v in q.items() if k not in ordered})
    return json.dumps(ordered, ensure_ascii=False)


def render(questions: list[Question]) -> str:
    return "".join(dumps(q) + "\n" for q in questions)


def main() -> None:
    sides = split_questions(load_written())
    for side, rows in sides.items():
        (EVAL_DIR / f"{side}.jsonl").write_text(render(rows), encoding="utf-8")
        kinds = Counter(q["kind"] for q in rows)
        print(f"{side}: {len(rows)} questions, {dict(sorted(kinds.items()))}")


if __name__ == "__main__":
    main()
