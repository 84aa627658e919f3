"""The team, account and invitation pages build (every component and Var expression is valid)
without starting the app: a broken page fails here in a second, not in the browser tests."""

from __future__ import annotations

import pytest
import reflex as rx

from techdocs_app.pages import account, invite, team


@pytest.mark.parametrize("page", [team.team_page, account.account_page, invite.invite_page])
def test_page_builds(page) -> None:  # noqa: ANN001
    component = page()
    assert isinstance(component, rx.Component)
    assert component.render()
