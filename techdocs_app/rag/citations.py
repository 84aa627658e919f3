"""Citations: every `[n]` in an answer must point at a source that was given."""

from __future__ import annotations

import re

_CITATION_RE = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")


def check_citations(answer: str, n_sources: int) -> tuple[str, list[int], list[int]]:
    """(answer with citations to missing sources removed, valid cited numbers, dropped numbers)."""
    valid: list[int] = []
    dropped: list[int] = []

    def _fix(match: re.Match[str]) -> str:
        keep: list[str] = []
        for part in re.split(r"[,;]", match.group(1)):
            number = int(part.strip())
            if 1 <= number <= n_sources:
                keep.append(str(number))
                if number not in valid:
                    valid.append(number)
            else:
                dropped.append(number)
        return "".join(f"[{n}]" for n in keep)

    cleaned = _CITATION_RE.sub(_fix, answer)
    if dropped:
        cleaned = re.sub(r"[ \t]+([.,;:])", r"\1", cleaned)
        cleaned = re.sub(r"[ \t]{2,}", " ", cleaned)
    return cleaned, valid, dropped
