"""Chat page state: the conversation on screen, its history list, sources, feedback.

Answers stream from `rag.answer.ask` in a background event (`submit_question`), so the state lock
is held only while a batch of words is written (see `state.draft`), never while searching or waiting
for the model; other tabs and the Stop button keep working. The answer being written lives in
`draft_*` vars, so each flush sends only the growing text, not the whole transcript; when it is
done it moves into `messages`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import reflex as rx

from techdocs_app import conversations, library, throttles
from techdocs_app.api import PAGE_ZOOM, page_image_url
from techdocs_app.auth import Principal
from techdocs_app.errors import RateLimited, TechDocsError, ValidationFailed
from techdocs_app.rag.answer import Done, Failed, SourceView, Started, Token, ask
from techdocs_app.rag.answer import Sources as SourcesEvent
from techdocs_app.safe_text import answer_markdown
from techdocs_app.settings import get_settings
from techdocs_app.state.base import SIGN_IN_ROUTE, current_principal
from techdocs_app.state.billing import BillingState
from techdocs_app.state.draft import DraftBatcher

log = logging.getLogger(__name__)

GENERIC_ERROR = "Something went wrong while answering. Please try again."


@dataclass
class SourceItem:
    number: int = 0
    chunk_id: int = 0
    document_id: int = 0
    document: str = ""
    page: int = 0
    pages_label: str = ""
    heading: str = ""
    snippet: str = ""
    image_url: str = ""
    focus_y: float = 0.0


@dataclass
class ChatMessage:
    key: str = ""
    message_id: int = 0
    role: str = "assistant"  # "user" | "assistant"
    content: str = ""
    sources: list[SourceItem] = field(default_factory=list)
    not_found: bool = False
    offline: bool = False
    failed: bool = False
    stopped: bool = False
    feedback: int = 0


@dataclass
class ConversationItem:
    id: int = 0
    title: str = ""
    when: str = ""


@dataclass
class ScopeDocument:
    id: int = 0
    title: str = ""


def clean_question(raw: str | None) -> str:
    """Collapse whitespace; refuse empty or over-long questions with a message the user can act on."""
    question = " ".join((raw or "").split())
    if not question:
        raise ValidationFailed("Type a question about your manuals first.")
    limit = get_settings().max_question_chars
    if len(question) > limit:
        raise ValidationFailed(f"Keep your question under {limit:,} characters.")
    return question


MAX_SCOPE = 50
"""At most this many manuals in a question's scope (more is "all manuals" in practice)."""


def scope_after_toggle(
    current: list[int], document_id: Any, checked: Any, *, available: list[int]
) -> list[int]:
    """The scope after ticking or unticking one manual: only manuals listed on the page (the
    browser can send any id), at most MAX_SCOPE of them."""
    try:
        document_id = int(document_id)
    except (TypeError, ValueError):
        return list(current)
    ids = [i for i in current if i != document_id and i in available]
    if checked is True and document_id in available and len(ids) < MAX_SCOPE:
        ids.append(document_id)
    return ids[:MAX_SCOPE]


def _heading_label(source: SourceView) -> str:
    """The section path without the document title the index prefixes it with."""
    heading = " ".join((source.heading or "").split())
    for prefix in (source.document_title, source.filename):
        if prefix and heading.lower().startswith(prefix.lower()):
            heading = heading[len(prefix) :].lstrip(" >›/|:-–—")
    return heading


def _source_page(source: SourceView) -> tuple[int, float]:
    """The page to show (where the passage's first highlight box is, else its first page) and
    the top of that box in PDF points (0 when unknown)."""
    for box in source.positions or ():
        page = box.get("page") if isinstance(box, dict) else None
        if isinstance(page, int) and source.page_start <= page <= source.page_end:
            try:
                return page, float(box.get("y0", 0.0))
            except (TypeError, ValueError):
                return page, 0.0
    return source.page_start, 0.0


def source_item(source: SourceView) -> SourceItem:
    page, focus_y = _source_page(source)
    if source.page_end > source.page_start:
        pages_label = f"pp. {source.page_start}–{source.page_end}"
    else:
        pages_label = f"p. {source.page_start}"
    return SourceItem(
        number=source.number,
        chunk_id=source.chunk_id,
        document_id=source.document_id,
        # The file name the shop uploaded: PDF metadata titles are often meaningless codes.
        document=source.filename or source.document_title,
        page=page,
        pages_label=pages_label,
        heading=_heading_label(source),
        snippet=source.snippet,
        image_url=page_image_url(source.document_id, page, source.chunk_id),
        focus_y=focus_y,
    )


def _when(value: Any) -> str:
    try:
        return value.strftime("%d %b %Y, %H:%M")
    except AttributeError:
        return ""


_END = object()


async def _pump(events: AsyncIterator[Any], queue: asyncio.Queue[Any]) -> None:
    """Move answer events into a queue, so the consumer can flush on a clock."""
    try:
        async for event in events:
            await queue.put(event)
    finally:
        await queue.put(_END)


class ChatState(rx.State):
    messages: list[ChatMessage] = []
    conversation_id: int = 0
    conversations: list[ConversationItem] = []

    # The answer being streamed.
    streaming: bool = False
    stop_requested: bool = False
    draft_question: str = ""
    draft_content: str = ""
    draft_status: str = ""
    draft_sources: list[SourceItem] = []

    # Which manuals the next question searches (empty: all of them).
    documents: list[ScopeDocument] = []
    scope_ids: list[int] = []
    library_loaded: bool = False

    history_open: bool = False
    scope_open: bool = False

    preview_open: bool = False
    preview_url: str = ""
    preview_title: str = ""
    preview_caption: str = ""
    preview_zoomed: bool = False
    preview_focus_top: float = 0.0
    """Top of the cited passage in the page image's own pixels (assets/page_preview.js scrolls
    the preview there: no script is sent from the server, the CSP allows none)."""

    _counter: int = 0

    @rx.var
    def scope_label(self) -> str:
        if not self.scope_ids:
            return "All manuals"
        if len(self.scope_ids) == 1:
            for doc in self.documents:
                if doc.id == self.scope_ids[0]:
                    return doc.title
        return f"{len(self.scope_ids)} manuals"

    @rx.var
    def has_documents(self) -> bool:
        return len(self.documents) > 0

    def _next_key(self) -> str:
        self._counter += 1
        return f"m{self._counter}"

    # --- loading ---------------------------------------------------------------------------------

    @rx.event
    async def load(self):
        """on_load of the chat page: past conversations and the manuals that can be searched."""
        principal = await current_principal(self)
        if principal is None:
            return rx.redirect(SIGN_IN_ROUTE)
        await self._refresh_sidebar(principal)
        return None

    async def _refresh_sidebar(self, principal: Principal) -> None:
        convs, docs = await asyncio.gather(
            asyncio.to_thread(conversations.list_conversations, principal),
            asyncio.to_thread(library.list_documents, principal),
        )
        self.conversations = [
            ConversationItem(id=c.id, title=c.title, when=_when(c.updated_at)) for c in convs
        ]
        self.documents = [
            ScopeDocument(id=d.id, title=d.title or d.filename) for d in docs if d.status == "ready"
        ]
        ready = {d.id for d in self.documents}
        self.scope_ids = [i for i in self.scope_ids if i in ready]
        self.library_loaded = True

    # --- conversations ---------------------------------------------------------------------------

    @rx.event
    def new_conversation(self):
        if self.streaming:
            return rx.toast.info("Wait for the answer to finish, or press Stop.")
        self.messages = []
        self.conversation_id = 0
        self.history_open = False
        return rx.set_focus("chat-question")

    @rx.event
    def set_history_open(self, value: bool):
        self.history_open = value

    @rx.event
    async def open_conversation(self, conversation_id: int):
        if self.streaming:
            return rx.toast.info("Wait for the answer to finish, or press Stop.")
        principal = await current_principal(self)
        if principal is None:
            return rx.redirect(SIGN_IN_ROUTE)
        try:
            rows = await asyncio.to_thread(
                conversations.get_messages, principal, conversation_id=conversation_id
            )
        except TechDocsError as exc:
            return rx.toast.error(exc.user_message)
        self.messages = [
            ChatMessage(
                key=self._next_key(),
                message_id=m.id,
                role=m.role,
                content=answer_markdown(m.content) if m.role == "assistant" else m.content,
                sources=[source_item(s) for s in m.sources] if m.role == "assistant" else [],
                not_found=m.not_found,
                offline=m.offline,
                feedback=m.feedback,
            )
            for m in rows
        ]
        self.conversation_id = conversation_id
        self.history_open = False
        return None

    @rx.event
    async def delete_conversation(self, conversation_id: int):
        principal = await current_principal(self)
        if principal is None:
            return rx.redirect(SIGN_IN_ROUTE)
        try:
            await asyncio.to_thread(
                conversations.delete_conversation, principal, conversation_id=conversation_id
            )
        except TechDocsError as exc:
            return rx.toast.error(exc.user_message)
        self.conversations = [c for c in self.conversations if c.id != conversation_id]
        if self.conversation_id == conversation_id and not self.streaming:
            self.messages = []
            self.conversation_id = 0
        return rx.toast.success("Conversation deleted.")

    # --- scope -----------------------------------------------------------------------------------

    @rx.event
    def set_scope_open(self, value: bool):
        self.scope_open = value

    @rx.event
    def toggle_scope(self, document_id: int, checked: bool):
        self.scope_ids = scope_after_toggle(
            self.scope_ids, document_id, checked, available=[d.id for d in self.documents]
        )

    @rx.event
    def clear_scope(self):
        self.scope_ids = []

    # --- sources ---------------------------------------------------------------------------------

    @rx.event
    def open_source(self, source: dict[str, Any]):
        self.preview_url = str(source.get("image_url", ""))
        self.preview_title = f"{source.get('document', '')} · p. {source.get('page', '')}"
        self.preview_caption = str(source.get("heading", ""))
        try:
            focus_y = float(source.get("focus_y") or 0.0)
        except (TypeError, ValueError):
            focus_y = 0.0
        self.preview_focus_top = round(max(0.0, focus_y * PAGE_ZOOM), 1)
        self.preview_zoomed = False
        self.preview_open = True

    @rx.event
    def toggle_preview_zoom(self):
        self.preview_zoomed = not self.preview_zoomed

    @rx.event
    def set_preview_open(self, value: bool):
        self.preview_open = value

    # --- feedback --------------------------------------------------------------------------------

    @rx.event
    async def rate(self, message_id: int, value: int):
        principal = await current_principal(self)
        if principal is None:
            return rx.redirect(SIGN_IN_ROUTE)
        current = next((m.feedback for m in self.messages if m.message_id == message_id), 0)
        new_value = 0 if current == value else value
        try:
            await asyncio.to_thread(
                conversations.set_feedback, principal, message_id=message_id, value=new_value
            )
        except TechDocsError as exc:
            return rx.toast.error(exc.user_message)
        for message in self.messages:
            if message.message_id == message_id:
                message.feedback = new_value
        self.messages = list(self.messages)
        return None

    # --- asking ----------------------------------------------------------------------------------

    @rx.event
    def stop(self):
        if self.streaming:
            self.stop_requested = True
            self.draft_status = "Stopping…"

    @rx.event(background=True)
    async def submit_question(self, form_data: dict[str, str]):
        error = question = ""
        principal: Principal | None = None
        async with self:
            if self.streaming:
                return
            try:
                question = clean_question(form_data.get("question"))
            except ValidationFailed as exc:
                error = exc.user_message
            else:
                principal = await current_principal(self)
                if principal is not None:
                    try:
                        await asyncio.to_thread(throttles.check_question, principal)
                    except RateLimited as exc:
                        error, principal = exc.user_message, None
                if principal is not None:
                    self.messages.append(
                        ChatMessage(key=self._next_key(), role="user", content=question)
                    )
                    self.streaming = True
                    self.stop_requested = False
                    self.draft_question = question
                    self.draft_content = ""
                    self.draft_sources = []
                    self.draft_status = "Searching your manuals…"
                    conversation_id = self.conversation_id or None
                    document_ids = list(self.scope_ids) or None
        if error:
            yield rx.toast.error(error)
            if question:
                # Refused for now (a rate limit): give the question back, nothing is lost.
                yield rx.set_value("chat-question", question)
            return
        if principal is None:
            yield rx.redirect(SIGN_IN_ROUTE)
            return

        outcome, started_id = await self._stream(principal, question, conversation_id, document_ids)
        async with self:
            if started_id:
                self.conversation_id = started_id
            outcome.key = self._next_key()
            self.messages.append(outcome)
            self.streaming = False
            self.stop_requested = False
            self.draft_content = ""
            self.draft_sources = []
            self.draft_status = ""
            self.draft_question = ""
            if conversation_id is None and self.conversation_id:
                # A new conversation: list it without another database round trip.
                self.conversations = [
                    ConversationItem(
                        id=self.conversation_id, title=question[:120], when=_when(datetime.now(UTC))
                    ),
                    *[c for c in self.conversations if c.id != self.conversation_id],
                ]
        if outcome.failed:
            yield rx.toast.error(outcome.content)
            # A refusal may mean the shop has just become read-only: the banner, the box and Send
            # follow at once (one primary-key read), not at the next page load.
            yield BillingState.load_banner

    async def _stream(
        self,
        principal: Principal,
        question: str,
        conversation_id: int | None,
        document_ids: list[int] | None,
    ) -> tuple[ChatMessage, int]:
        """Run `ask` and mirror it into the draft vars (writes batched by `DraftBatcher`); return
        the finished message and the conversation's id (0 if none was opened)."""
        queue: asyncio.Queue[Any] = asyncio.Queue()
        events = ask(
            principal,
            question=question,
            conversation_id=conversation_id,
            document_ids=document_ids,
        )
        pump = asyncio.create_task(_pump(events, queue))
        draft = DraftBatcher(now=time.monotonic())
        result = ChatMessage(role="assistant")
        finished = False
        try:
            while not finished:
                try:
                    event = await asyncio.wait_for(
                        queue.get(), timeout=draft.timeout(time.monotonic())
                    )
                except TimeoutError:
                    event = None
                if event is _END:
                    finished = True
                elif isinstance(event, Token):
                    draft.add_words(event.text)
                elif isinstance(event, Started):
                    draft.started(event.conversation_id)
                elif isinstance(event, SourcesEvent):
                    draft.add_sources([source_item(s) for s in event.sources], time.monotonic())
                elif isinstance(event, Done):
                    result = ChatMessage(
                        message_id=event.message_id,
                        role="assistant",
                        content=answer_markdown(event.answer),
                        sources=draft.sources,
                        not_found=event.not_found,
                        offline=event.offline,
                    )
                elif isinstance(event, Failed):
                    result = ChatMessage(role="assistant", content=event.user_message, failed=True)
                write = draft.due(time.monotonic(), finished=finished)
                if write is None:
                    continue
                async with self:
                    if write.conversation_id:
                        self.conversation_id = write.conversation_id
                    if write.sources is not None:
                        self.draft_sources = write.sources
                    if write.text is not None:
                        self.draft_content = answer_markdown(write.text)
                    if write.status is not None:
                        self.draft_status = write.status
                    stop = self.stop_requested
                if stop:
                    pump.cancel()
                    stopped = ChatMessage(
                        role="assistant",
                        content=answer_markdown(draft.all_text()),
                        sources=draft.sources,
                        stopped=True,
                    )
                    return stopped, draft.conversation_id
        except Exception:  # noqa: BLE001 - the person sees a plain message, the log the cause
            log.exception("streaming an answer failed")
            pump.cancel()
            failed = ChatMessage(role="assistant", content=GENERIC_ERROR, failed=True)
            return failed, draft.conversation_id
        finally:
            if not pump.done():
                pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump
            with contextlib.suppress(Exception):
                await events.aclose()
        if not result.content and not result.failed:
            failed = ChatMessage(role="assistant", content=GENERIC_ERROR, failed=True)
            return failed, draft.conversation_id
        return result, draft.conversation_id
