"""Invitation email through a real SMTP server started in-process (aiosmtpd), standard library
client (`smtplib`) on our side: plain, with login, and with the server gone."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from techdocs_app.auth import mailer, team
from techdocs_app.settings import get_settings


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], Message]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802 - aiosmtpd's hook name
        self.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content))
        )
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _authenticator(server, session, envelope, mechanism, auth_data):  # noqa: ANN001, ANN202
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"mailer",
        b"s3cret pass",
    )
    return AuthResult(success=ok)


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = _free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticator,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _use_smtp(monkeypatch: pytest.MonkeyPatch, url: str | None) -> None:
    if url is None:
        monkeypatch.delenv("SMTP_URL", raising=False)
    else:
        monkeypatch.setenv("SMTP_URL", url)
    monkeypatch.setenv("SMTP_FROM", "Harbor Bot <bot@techdocs.example>")
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _restore_settings() -> Iterator[None]:
    yield
    get_settings.cache_clear()


def test_invitation_is_emailed_with_its_link(make_org, smtp_server, monkeypatch) -> None:  # noqa: ANN001
    inbox, port = smtp_server
    _use_smtp(monkeypatch, f"smtp://mailer:s3cret%20pass@127.0.0.1:{port}")
    owner = make_org("Harbor HVAC <script>")
    sent = team.invite(owner, email="sam@harbor.example", role="admin")
    assert sent.emailed
    (mail_from, rcpt, message) = inbox.messages[0]
    assert mail_from == "bot@techdocs.example" and rcpt == ["sam@harbor.example"]
    assert message["Subject"] == "Join Harbor HVAC <script> on TechDocs AI"
    assert message["To"] == "sam@harbor.example"
    assert message.get_content_type() == "text/plain"
    body = message.get_payload(decode=True).decode()
    assert sent.link in body
    assert (
        f"{owner.email} invited you to join Harbor HVAC <script> on TechDocs AI as an admin" in body
    )
    assert "expires in 7 days" in body
    # The Team page says it was emailed; resending sends a fresh link.
    (pending,) = team.team_overview(owner).invitations
    assert pending.last_sent_at is not None
    again = team.resend_invitation(owner, invitation_id=sent.invitation.id)
    assert again.emailed and again.link != sent.link
    assert again.link in inbox.messages[1][2].get_payload(decode=True).decode()


def test_wrong_smtp_password_or_no_server_keeps_the_invitation(
    make_org, smtp_server, monkeypatch
) -> None:  # noqa: ANN001
    inbox, port = smtp_server
    owner = make_org("Harbor HVAC")
    _use_smtp(monkeypatch, f"smtp://mailer:wrong@127.0.0.1:{port}")
    refused = team.invite(owner, email="a@harbor.example")
    _use_smtp(monkeypatch, f"smtp://127.0.0.1:{_free_port()}")  # nothing listens there
    unreachable = team.invite(owner, email="b@harbor.example")
    assert not refused.emailed and not unreachable.emailed and inbox.messages == []
    # Both invitations stand: their links can be copied from the Team page.
    view = team.team_overview(owner)
    assert {i.email for i in view.invitations} == {"a@harbor.example", "b@harbor.example"}
    assert all(i.last_sent_at is None for i in view.invitations)
    assert team.preview_invitation(refused.link.rsplit("/", 1)[-1]).email == "a@harbor.example"


def test_without_smtp_nothing_is_sent(make_org, smtp_server, monkeypatch) -> None:  # noqa: ANN001
    inbox, _ = smtp_server
    _use_smtp(monkeypatch, None)
    owner = make_org("Harbor HVAC")
    assert not team.invite(owner, email="c@harbor.example").emailed
    assert inbox.messages == []


def test_smtp_url_forms() -> None:
    plain = mailer.parse_smtp_url("smtp://mail.example")
    assert (plain.host, plain.port, plain.tls, plain.username) == ("mail.example", 587, False, None)
    tls = mailer.parse_smtp_url("smtps://u%40x:p%3Aw@mail.example")
    assert (tls.port, tls.tls, tls.username, tls.password) == (465, True, "u@x", "p:w")
    with pytest.raises(ValueError, match="SMTP_URL"):
        mailer.parse_smtp_url("http://mail.example")
