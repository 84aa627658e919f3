"""Request and response bodies of the REST API (pydantic; the OpenAPI schemas come from these)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. `not_found`.")
    message: str = Field(description="The same plain sentence the app shows a person.")


class ErrorResponse(BaseModel):
    error: ErrorDetail


class QueryRequest(Strict):
    question: str = Field(
        min_length=2,
        max_length=20000,
        pattern=r"\w",
        description=(
            "The question, as a technician would type it (the app's question rules apply: "
            "a question it refuses answers 422 `invalid_question` with what to change)."
        ),
        examples=["What is the torque for the caliper bracket bolts?"],
    )
    conversation_id: Id | None = Field(
        default=None, description="Continue this conversation (a follow-up question)."
    )
    document_ids: list[Id] | None = Field(
        default=None, max_length=200, description="Only search these manuals (default: all)."
    )


class SourceOut(BaseModel):
    number: int = Field(description="The `[n]` the answer cites.")
    document_id: int
    document_title: str
    filename: str
    page_start: int
    page_end: int
    heading: str
    snippet: str
    score: float


class QueryResponse(BaseModel):
    conversation_id: int
    message_id: int
    answer: str
    citations: list[int] = Field(description="Source numbers cited in the answer.")
    sources: list[SourceOut]
    not_found: bool = Field(description="The manuals do not hold the answer.")
    offline: bool = Field(description="Quoted from the manuals without a language model.")
    searched_documents: list[str] = Field(
        description="With `not_found`: the manuals that were searched."
    )
    cache_hit: bool


class DocumentOut(BaseModel):
    id: int
    filename: str
    title: str
    status: Literal["pending", "processing", "ready", "failed"]
    progress: float = Field(ge=0, le=1, description="0 to 1 while processing.")
    pages: int
    pages_done: int
    chunk_count: int
    size_bytes: int
    error_message: str | None = Field(description="With `failed`: what to do.")
    created_at: datetime
    processed_at: datetime | None
    status_url: str


class DocumentList(BaseModel):
    documents: list[DocumentOut]


class UploadAccepted(BaseModel):
    id: int
    status: str
    duplicate: bool = Field(description="The same PDF was already in the library.")
    status_url: str
    document: DocumentOut


class UploadForm(BaseModel):
    file: bytes = Field(
        json_schema_extra={"format": "binary", "contentMediaType": "application/pdf"},
        description="The PDF manual.",
    )


class MessageOut(BaseModel):
    id: int
    role: Literal["user", "assistant"]
    content: str
    created_at: datetime | None
    sources: list[SourceOut]
    not_found: bool
    offline: bool
    feedback: int = Field(ge=-1, le=1)


class ConversationOut(BaseModel):
    id: int
    messages: list[MessageOut]


class DayCount(BaseModel):
    date: date
    questions: int


class UsageOut(BaseModel):
    organization: str
    plan: str
    seats_used: int
    seat_limit: int
    trial_ends_at: datetime | None
    period_start: date = Field(description="First day of the current calendar month (UTC).")
    questions_this_period: int
    answered_this_period: int
    not_found_this_period: int
    failed_this_period: int
    questions_per_day: list[DayCount] = Field(description="The last 30 days, oldest first.")
    documents: int
    documents_ready: int
    documents_failed: int
    pages: int
