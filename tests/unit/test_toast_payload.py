"""The CSP keeps 'unsafe-eval' because Reflex's client evals the code of server-sent events (every
toast). That is safe only while data inside that code is a string literal: a file name with
quotes and markup must come out as one JSON string, never as code (issue 10 §1)."""

from __future__ import annotations

import json

import reflex as rx
from reflex.event import Event

HOSTILE = 'manual"); window.__tdPwned = 1; ("<img src=x onerror=alert(2)>\u2028.pdf'


def test_a_toast_carries_its_message_as_a_string_literal() -> None:
    event = Event.from_event_type(rx.toast.error(f"{HOSTILE}: not a PDF"))[0]
    code = event.payload["function"]
    literal = json.dumps(f"{HOSTILE}: not a PDF")
    assert literal in code
    # Outside that literal nothing of the message remains: it cannot close the string.
    assert "__tdPwned" not in code.replace(literal, "")
