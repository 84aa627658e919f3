"""The submit flow shared by the sign-in and sign-up forms.

Runs inside a background event: password hashing takes ~0.1-1 s on purpose, and a normal handler
would hold the state lock (and block this tab's other events) the whole time.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

import reflex as rx

from techdocs_app.auth import Principal
from techdocs_app.errors import TechDocsError
from techdocs_app.state.base import begin_session


async def submit_auth_form(
    state: rx.State, authenticate: Callable[[], Principal] | Callable[[], Awaitable[Principal]]
) -> bool:
    """Run `authenticate` (a coroutine function, or a plain one off the event loop) and start a
    session; True once signed in.

    `state` is the form's state (in a background event, its proxy) with `error: str` and
    `submitting: bool` vars. A second submit while one is running is ignored; a `TechDocsError`
    becomes the form's `error` (its `user_message`).
    """
    async with state:
        if state.submitting:
            return False
        state.error = ""
        state.submitting = True
    try:
        if inspect.iscoroutinefunction(authenticate):
            principal = await authenticate()
        else:
            principal = await asyncio.to_thread(authenticate)  # type: ignore[arg-type]
        async with state:
            await begin_session(state, principal)
    except TechDocsError as exc:
        async with state:
            state.error = exc.user_message
        return False
    finally:
        # Also after an unexpected error (the app's exception handler shows a generic
        # message), so the form never stays stuck in its loading state.
        async with state:
            state.submitting = False
    return True
