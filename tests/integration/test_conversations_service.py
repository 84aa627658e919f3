"""The conversations service the UI calls: history, delete, feedback — and tenancy."""

from __future__ import annotations

import pytest

from tests.integration.test_answer_flow import collect, ingest

pytestmark = pytest.mark.integration


async def test_history_feedback_and_delete(make_org, corpus_dir, redis_client) -> None:  # noqa: ANN001
    from techdocs_app import conversations, memory
    from techdocs_app.errors import NotFound, ValidationFailed

    shop = make_org("History")
    ingest(shop, corpus_dir)
    first = await collect(shop, "What is the power budget of the TS2017-S31C-SO?")
    second = await collect(shop, "What is the reach of the TS2017-S31C-SO?")
    listed = conversations.list_conversations(shop)
    assert [c.id for c in listed] == [second[0].conversation_id, first[0].conversation_id]
    assert listed[1].title.startswith("What is the power budget")

    conversation_id = first[0].conversation_id
    messages = conversations.get_messages(shop, conversation_id=conversation_id)
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[1].sources and messages[1].offline

    conversations.set_feedback(shop, message_id=first[-1].message_id, value=-1)
    assert conversations.get_messages(shop, conversation_id=conversation_id)[1].feedback == -1
    with pytest.raises(ValidationFailed):
        conversations.set_feedback(shop, message_id=first[-1].message_id, value=5)
    with pytest.raises(NotFound):  # a question is not an answer
        conversations.set_feedback(shop, message_id=messages[0].id, value=1)

    key = memory.memory_key(org_id=shop.org_id, conversation_id=conversation_id)
    assert redis_client.exists(key)
    conversations.delete_conversation(shop, conversation_id=conversation_id)
    assert not redis_client.exists(key)
    assert [c.id for c in conversations.list_conversations(shop)] == [second[0].conversation_id]
    with pytest.raises(NotFound):
        conversations.get_messages(shop, conversation_id=conversation_id)
    with pytest.raises(NotFound):
        conversations.delete_conversation(shop, conversation_id=conversation_id)


async def test_org_b_never_sees_org_a_conversations(make_org, corpus_dir) -> None:  # noqa: ANN001
    from techdocs_app import conversations
    from techdocs_app.errors import NotFound
    from techdocs_app.rag.answer import Failed

    a = make_org("Shop A")
    b = make_org("Shop B")
    ingest(a, corpus_dir)
    events = await collect(a, "What is the power budget of the TS2017-S31C-SO?")
    conversation_id = events[0].conversation_id
    message_id = events[-1].message_id

    assert conversations.list_conversations(b) == []
    with pytest.raises(NotFound):
        conversations.get_messages(b, conversation_id=conversation_id)
    with pytest.raises(NotFound):
        conversations.set_feedback(b, message_id=message_id, value=1)
    with pytest.raises(NotFound):
        conversations.delete_conversation(b, conversation_id=conversation_id)
    # B cannot continue A's conversation (nor read its memory through a follow-up).
    hijack = await collect(b, "And the overload?", conversation_id=conversation_id)
    assert len(hijack) == 1 and isinstance(hijack[0], Failed)
    # A's history is untouched.
    assert len(conversations.get_messages(a, conversation_id=conversation_id)) == 2
