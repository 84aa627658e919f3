"""When the chat page's answer-in-progress is written to the browser (no reflex import: unit-tested).

Every write takes the chat state's lock, loads the state from Redis, saves it and sends a delta:
with 20 people asking at once on 2 cores, those writes are a third of the app's CPU per answer.
`DraftBatcher` decides, for the stream of answer events, which writes are worth it:

- the sources wait up to `hold_s` for the first words and go out with them (the offline answerer's
  follow at once); when the words are slower (a vendor model), the sources go out alone;
- the first words go out at once; later words in batches, at most every `flush_s`;
- nothing is written once the answer is finished: the caller replaces the draft with the finished
  message in one update;
- while nothing is due, a write without changes every `stop_check_s` reads the Stop flag.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FLUSH_S = 0.05
"""Words are written to the browser at most this often (one state update per batch)."""
SOURCES_HOLD_S = 0.15
"""Sources wait this long for the first words, to go out in the same update."""
STOP_CHECK_S = 1.0
"""While nothing else is written (searching), the Stop flag is still read this often."""
WRITING_STATUS = "Writing the answer…"


@dataclass
class DraftWrite:
    """One state update: the fields to set (None: leave as is), then read the Stop flag."""

    text: str | None = None
    sources: list[Any] | None = None
    conversation_id: int = 0
    """A new conversation's id, set with the sources (0: leave as is)."""
    status: str | None = None


@dataclass
class DraftBatcher:
    flush_s: float = FLUSH_S
    hold_s: float = SOURCES_HOLD_S
    stop_check_s: float = STOP_CHECK_S
    now: float = 0.0
    """Time of the last write (or of the start): `time.monotonic()` of the caller."""
    text: str = ""
    """The words written so far."""
    pending: list[str] = field(default_factory=list)
    sources: list[Any] = field(default_factory=list)
    conversation_id: int = 0
    sources_since: float | None = None
    """When sources arrived that are not written yet."""

    def started(self, conversation_id: int) -> None:
        self.conversation_id = conversation_id

    def add_sources(self, sources: list[Any], now: float) -> None:
        self.sources = list(sources)
        self.sources_since = now

    def add_words(self, words: str) -> None:
        self.pending.append(words)

    def all_text(self) -> str:
        return self.text + "".join(self.pending)

    def timeout(self, now: float) -> float:
        """How long the caller may wait for the next event before `due` may have a write."""
        if self.pending:
            return max(0.0, self.now + self.flush_s - now)
        if self.sources_since is not None:
            return max(0.0, self.sources_since + self.hold_s - now)
        return max(0.0, self.now + self.stop_check_s - now)

    def due(self, now: float, *, finished: bool = False) -> DraftWrite | None:
        """The write to make now, if any (and the batcher counts it as made)."""
        if finished:
            return None
        write: DraftWrite | None = None
        first_words = not self.text and bool(self.pending)
        if self.pending and (first_words or now - self.now >= self.flush_s):
            self.text += "".join(self.pending)
            self.pending.clear()
            write = DraftWrite(text=self.text, status="")
            if self.sources_since is not None:
                write.sources, write.conversation_id = self.sources, self.conversation_id
                self.sources_since = None
        elif self.sources_since is not None and now - self.sources_since >= self.hold_s:
            self.sources_since = None
            write = DraftWrite(
                sources=self.sources,
                conversation_id=self.conversation_id,
                status=WRITING_STATUS if self.sources else "",
            )
        elif now - self.now >= self.stop_check_s:
            write = DraftWrite()
        if write is not None:
            self.now = now
        return write
