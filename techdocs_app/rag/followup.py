"""Ranking a follow-up's candidates: several wordings of it, and a mild preference for the
previous turn's manuals.

A condensed follow-up carries the conversation (its subject, a few words of the previous question
in parentheses) so that the search lands in the right manual. The carried words also pull the
ranking back to the page the previous answer came from, while a follow-up often asks for the
next thing (the driver after the baud rate, the tolerance after the wavelength), and a rewrite
rule that misreads an unseen phrasing loses what was asked. So the candidates are ranked by three
wordings together, none of which decides alone:

- the condensed query (weight 1);
- its own words: the rewrite without the carried context (weight 0.5);
- the question as the user typed it, with the conversation's subject (weight 0.5), unless it
  names an identifier of its own ('is it the same on the R11?' is not about the RT2).

Each wording's scores are divided by its best score first, so the reranker's scale does not
matter, and the sum is divided by the total weight. Measured on dev + tune (follow-ups only,
MRR@10): the condensed query alone 0.906 / 0.762; with its own words 0.906 / 0.786; all three
0.906 / 0.801, and the same (0.799-0.801) with the other two weighted 0.3 to 1.0 each. Rank
fusion (RRF) instead of scores: 0.844 / 0.784. Dropping the carried context altogether: 0.708 /
0.696 (the context finds the manual; it must only not decide the page).

The candidates come from one search of the library (or the conversation's filter), as for any
question; only when it holds fewer than `FOCUS_MIN_HITS` passages of the previous turn's manuals
does a search of those manuals join the pool (in a large library a follow-up naming no model may
find none of them). Candidates of the previous manuals get `PREVIOUS_MANUAL_BONUS`: a follow-up
is usually about the same manual, but a previous answer from the wrong manual must not trap the
next question in it (before, the previous manuals were searched alone, and the library only when
that looked weak). On dev + tune: the previous manuals searched alone 0.906 / 0.801, with the
library in one pool 0.906 / 0.802, the library first 0.906 / 0.819 (one search, as fast as a first
question); every previous answer there is from the right manual, so the bonus changes no rank
of the right page: the pool and the bonus are for the question whose first turn went wrong.

Issue 9's seventh round re-measured these weights out of sample, on the recorded candidates of
every follow-up of dev, tune and reworded_followups (8 / 29 / 37; re-ranking the recorded pools
reproduces the eval's follow-up MRR@10 within one question: 0.917 / 0.847 / 0.779 against 0.917 /
0.832 / 0.784). 21 of the 74 are not at rank 1. The previous turn is the main cause: 11 of the 21
follow a first turn that was not at rank 1 itself, and the follow-ups whose first turn was at rank
1 score 0.905 / 0.933 / 0.858, those after a missed one 1.000 (one) / 0.606 / 0.583. By what won:
the previous answer's page 6 (5 of them after a missed first turn), a neighbouring page of the
right manual 5, another manual 1, and 9 the follow-up's words not being the manual's ('wake it
from that mode' against 'woken up from Stop mode', 'does it come with a SIM card' against the
package list, 'login credentials' against 'User name (administrator)'). Nothing re-weighting the
wordings found generalises: a grid of the own-words (0-2) and typed (0-1) weights, the previous
question's own scores over the pool (-1 to 0.5) and a bonus or penalty for the previous answer's
page (-0.2 to 0.1), chosen on dev + tune, picks the weights above (reworded_followups 0.779);
chosen leave-one-manual-out over the 11 manuals with follow-ups, the refitted weights lose to these
fixed ones (dev + tune + reworded_followups 0.783 against 0.821; dev + tune alone 0.835 against
0.862). The previous answer's page as a bonus of 0.05 lifts dev (0.938) and loses
reworded_followups (0.768); as a penalty it loses tune, since most follow-ups are on their first
turn's page (23 of tune's 29). Also measured and dropped: each wording's own similarity instead of
the condensed query's (tune 0.811, reworded_followups 0.766); the local reranker's
SIMILARITY_WEIGHT (0-2) and RANK_K (5-20) or fused weight (0.3-1.0) for follow-ups (best at the
reranker's own 0.2 / 10 / 0.6); a candidate raised by the other passages of its page (every
weight worse: tune 0.847 -> 0.78 at 0.05); 1 or 3 carried topic phrases instead of 2 (the
rewrites re-run and re-embedded: 0.917 / 0.814 / 0.779 and 0.906 / 0.832 / 0.775 against 0.917 /
0.832 / 0.779); the carried words discounted inside the condensed wording (their IDF in the
local reranker times 0.75 / 0.5 / 0.25 / 0: 0.917 / 0.847 / 0.775, 0.917 / 0.849 / 0.784, 0.917 /
0.832 / 0.786, 0.917 / 0.809 / 0.773, each within one question of the plain wording); a linear
model over nine such features fitted listwise (out of manual
0.52-0.66).

Which manuals are "previous" (`preferred_manuals`): those the previous turn cited or showed, or,
when it was answered "not found" and showed none, those its search ranked first
(`turn_manuals`); none when the follow-up moved on to another model: it names an
identifier the previous turn did not and its rewrite keeps none of the previous turn's, or (after
the library search) that identifier is written in none of the previous manuals' passages found
(`names_another_model`: the local condenser may write the old subject into a rewrite that asks
about a new one).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence

from techdocs_app.providers.base import Turn
from techdocs_app.providers.local_condense import (
    about_another_model,
    asks_again,
    conversation_subject,
    without_context,
)
from techdocs_app.rag.events import SourceView
from techdocs_app.rag.retrieve import SearchHit
from techdocs_app.text.identifiers import query_identifiers

CONDENSED_WEIGHT = 1.0
OWN_WORDS_WEIGHT = 0.5
TYPED_WEIGHT = 0.5
FOCUS_MIN_HITS = 5
"""A follow-up's library search holding fewer passages of the previous manuals than this is
joined by a search of those manuals (one search, not two, when the library search finds them)."""
PREVIOUS_MANUAL_BONUS = 0.15
"""Added to the fused score (0-1, the best candidate near 1) of a candidate from the previous
turn's manuals: another manual's passage must be clearly better to lead or to join the sources
(a follow-up citing two products confuses). Not a filter: with the offline reranker's similarity
blend the fused scores of 20 candidates run from about 0.4 to 1, so 0.3 let the previous
manual's fifth passage beat another manual's best (close to the hard focus that trapped a
follow-up in a wrong manual). 0.05, 0.15 and 0.3 give identical dev + tune figures (every eval
line the same); 0.15 is the middle of that plateau. Before the similarity blend, 0.05 let an
Arista table join a TS2017 follow-up's sources."""


def turn_manuals(
    citations: Sequence[int], sources: Sequence[SourceView], ranked: Sequence[SearchHit]
) -> tuple[int, ...]:
    """The manuals a turn was about, most telling first, which its follow-up prefers
    (`preferred_manuals`): the cited sources' manuals, the other sources', then those of the
    passages its search ranked first. A turn answered "not found" shows no sources, but its
    ranking still says which manual the conversation is in: without it, "Which one can't use
    DMA?" after a refused "fastest baud rate of the STM32F103's USARTs?" searched with no
    preference at all."""
    return tuple(
        dict.fromkeys(
            [sources[n - 1].document_id for n in citations]
            + [s.document_id for s in sources]
            + [h.document_id for h in ranked]
        )
    )


def preferred_manuals(
    question: str, standalone: str, history: Sequence[Turn], *, explicit: list[int] | None
) -> list[int] | None:
    """The manuals a follow-up prefers: the previous turn's (at most two), unless the
    conversation is confined to `explicit` manuals or the follow-up moved on. It moved on when it
    names an identifier the previous turn did not and its standalone query keeps none of the
    previous turn's ('What about the R11?' after the RT2 -> '… of the R11?'); a code, pin or lane
    it names is still about the same manual when the rewrite keeps the model ('and E05?' -> 'What
    does error E05 mean on the RL14?'). 'huh?' (`asks_again`) is the previous turn asked again:
    it prefers what that turn preferred (`followup_wordings` likewise ranks it by that turn's
    wordings), not the manuals that turn showed: after 'and the R11?' moved off an Ender-3
    question, those held the Ender-3's bed page, which then led the repeat."""
    if explicit is not None or not history:
        return None
    if asks_again(question):
        previous = history[-1]
        return preferred_manuals(previous.question, standalone, history[:-1], explicit=explicit)
    if not history[-1].document_ids:
        return None
    previous = history[-1]
    if new_identifiers(question, history) and not any(
        _names(standalone, name) for name in _known_identifiers(previous)
    ):
        return None
    return list(previous.document_ids[:2])


def moved_rewrite(question: str, standalone: str, history: Sequence[Turn]) -> str | None:
    """The standalone query of a follow-up whose new identifiers none of the previous manuals
    write (the caller looked): it names another model, so the previous question is asked about
    it ('and the R11?' after '… on the Ender-3?' -> '… on the R11?', not 'What about the R11 of
    the Ender-3? (bed)', which searched the printer's manuals for a Trikdis receiver). None when
    the rewrite does not carry the conversation's old subject (another condenser may have
    rewritten it well) or the follow-up is not elliptical."""
    subject = conversation_subject(history)
    if not subject or not _names(standalone, subject):
        return None
    moved = about_another_model(question, history)
    if moved is None or wording_key(moved) == wording_key(standalone):
        return None
    return moved


def _known_identifiers(previous: Turn) -> set[str]:
    return {i.lower() for i in previous.identifiers} | {
        i.lower() for i in query_identifiers(previous.standalone_query or previous.question)
    }


def new_identifiers(question: str, history: Sequence[Turn]) -> set[str]:
    """The identifiers (lower case) the follow-up names that the previous turn did not."""
    if not history:
        return set()
    return {i.lower() for i in query_identifiers(question)} - _known_identifiers(history[-1])


def names_another_model(
    new: Collection[str], hits: Sequence[SearchHit], preferred: Collection[int]
) -> bool:
    """The follow-up's new identifiers are written in none of the previous manuals' passages the
    search found: they name another model ('is it the same on the R11?' after the RT2, which
    the local condenser rewrites as 'Is the Trikdis RT2 the same on the R11?'), not a code, pin
    or lane of the same manual ('and E05?' after an RL14 event code, found in the RL14's
    passages). Then the previous manuals are preferred no more."""
    if not new or not preferred:
        return False
    return not any(
        hit.document_id in preferred
        and (
            any(i.lower() in new for i in hit.identifiers)
            or any(_names(hit.content, name) for name in new)
        )
        for hit in hits
    )


def _names(text: str, name: str) -> bool:
    """`text` names `name` as a whole word, whatever its case ('R11' is not named by 'R11U')."""
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text, re.I) is not None


def own_words(question: str, standalone: str) -> str:
    """The rewrite without the context a condenser carried in parentheses at its end; a trailing
    parenthesis the user typed ("… torque (M10)?") is their own words and stays, whichever
    condenser wrote the rewrite."""
    trimmed = without_context(standalone)
    carried = standalone.strip()[len(trimmed) :].strip()
    if carried and " ".join(carried.split()).lower() in " ".join(question.split()).lower():
        return standalone.strip()
    return trimmed


def followup_wordings(
    question: str, standalone: str, history: Sequence[Turn]
) -> list[tuple[str, float]]:
    """The wordings a follow-up is ranked by, with their weights, duplicates dropped (a question
    that is not a follow-up, or that the condenser left alone, has one wording)."""
    if not history or " ".join(standalone.split()) == " ".join(question.split()):
        return [(standalone, CONDENSED_WEIGHT)]  # the condenser found it stands alone
    if asks_again(question):
        # 'huh?': the previous turn asked again, ranked by that turn's wordings (its standalone
        # query is this one's).
        return followup_wordings(history[-1].question, standalone, history[:-1])
    subject = conversation_subject(history)
    typed = question.strip()
    if subject and subject.lower() not in typed.lower() and not new_identifiers(question, history):
        # A follow-up naming a model of its own ('is it the same on the R11?') is not about the
        # conversation's old one.
        typed = f"{typed} ({subject})"
    wordings: dict[str, float] = {}
    for text, weight in (
        (standalone, CONDENSED_WEIGHT),
        (own_words(question, standalone), OWN_WORDS_WEIGHT),
        (typed, TYPED_WEIGHT),
    ):
        key = wording_key(text)
        if key and key not in wordings:
            wordings[key] = weight
    return list(wordings.items())


def fuse_scores(
    scored: Sequence[tuple[float, Mapping[int, float]]],
    *,
    documents: Sequence[int],
    preferred: Collection[int] = (),
) -> dict[int, float]:
    """One score per candidate index from each wording's (weight, {index: score}): scores divided
    by the wording's best, weighted, summed and divided by the total weight; candidates whose
    document (`documents[index]`) is in `preferred` get `PREVIOUS_MANUAL_BONUS`."""
    total = sum(weight for weight, _ in scored) or 1.0
    fused = {index: 0.0 for index in range(len(documents))}
    for weight, scores in scored:
        best = max((s for s in scores.values() if s > 0), default=0.0)
        if best <= 0:
            continue
        for index, score in scores.items():
            if index in fused:
                fused[index] += weight * max(score, 0.0) / best
    for index in fused:
        fused[index] /= total
        if documents[index] in preferred:
            fused[index] += PREVIOUS_MANUAL_BONUS
    return fused


def wording_key(text: str) -> str:
    """How a wording is told apart from another (white space folded)."""
    return " ".join(text.split())


def lacks_previous_manuals(hits: Sequence[SearchHit], preferred: Collection[int]) -> bool:
    """The library search holds fewer than `FOCUS_MIN_HITS` passages of the previous manuals."""
    return bool(preferred) and sum(h.document_id in preferred for h in hits) < FOCUS_MIN_HITS


def merge_pools(first: Sequence[SearchHit], second: Sequence[SearchHit]) -> list[SearchHit]:
    """`first`'s hits, then `second`'s that `first` does not hold (by chunk)."""
    seen = {hit.chunk_id for hit in first}
    return [*first, *(hit for hit in second if hit.chunk_id not in seen)]
