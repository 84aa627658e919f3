"""Invitation email through SMTP with the standard library (`smtplib`, `email.message`).

`SMTP_URL` chooses the server: `smtp://user:password@host:587` (STARTTLS when the server offers
it), `smtps://user:password@host:465` (TLS from the start), `smtp://host:25` (no login). Without
it nothing is sent and the Team page shows the link to copy, which always works.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import unquote, urlparse

from techdocs_app.settings import get_settings

log = logging.getLogger(__name__)

SMTP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    tls: bool
    """TLS from the first byte (smtps); otherwise STARTTLS when offered."""
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpServer:
    parsed = urlparse(url)
    if parsed.scheme not in ("smtp", "smtps") or not parsed.hostname:
        raise ValueError("SMTP_URL must look like smtp://user:password@host:587")
    tls = parsed.scheme == "smtps"
    return SmtpServer(
        host=parsed.hostname,
        port=parsed.port or (465 if tls else 587),
        tls=tls,
        username=unquote(parsed.username) if parsed.username else None,
        password=unquote(parsed.password) if parsed.password else None,
    )


def smtp_configured() -> bool:
    return get_settings().smtp_url is not None


def invitation_message(
    *, to: str, org_name: str, inviter: str, role: str, link: str, days: int
) -> EmailMessage:
    """Plain text on purpose: names come from people and are never HTML here. Whitespace is
    collapsed so that no name can start a new header line."""
    org_name, inviter = " ".join(org_name.split()), " ".join(inviter.split())
    settings = get_settings()
    message = EmailMessage()
    message["Subject"] = f"Join {org_name} on TechDocs AI"
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Message-ID"] = make_msgid(domain="techdocs.ai")
    article = "an" if role[:1] in "aeiou" else "a"
    message.set_content(
        f"{inviter} invited you to join {org_name} on TechDocs AI as {article} {role}.\n\n"
        f"Open this link to accept (it works once and expires in {days} days):\n\n"
        f"{link}\n\n"
        "If you did not expect this invitation, ignore this email.\n"
    )
    return message


def send(message: EmailMessage) -> None:
    """Send through SMTP_URL. Raises `OSError`/`smtplib.SMTPException` on failure."""
    url = get_settings().smtp_url
    if url is None:
        raise RuntimeError("SMTP_URL is not set")
    server = parse_smtp_url(url.get_secret_value())
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if server.tls:
        client = smtplib.SMTP_SSL(server.host, server.port, timeout=SMTP_TIMEOUT_S, context=context)
    else:
        client = smtplib.SMTP(server.host, server.port, timeout=SMTP_TIMEOUT_S)
    with client:
        client.ehlo()
        if not server.tls and client.has_extn("starttls"):
            client.starttls(context=context)
            client.ehlo()
        if server.username:
            client.login(server.username, server.password or "")
        client.send_message(message)


def send_invitation(
    *, to: str, org_name: str, inviter: str, role: str, link: str, days: int
) -> bool:
    """True when the email was handed to the SMTP server; False when SMTP is not configured or
    sending failed (logged; the invitation stands and its link can be copied)."""
    if not smtp_configured():
        return False
    message = invitation_message(
        to=to, org_name=org_name, inviter=inviter, role=role, link=link, days=days
    )
    try:
        send(message)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("invitation email to %s failed: %s", to.split("@")[-1], type(exc).__name__)
        return False
    return True
