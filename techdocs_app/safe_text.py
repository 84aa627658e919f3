"""Text from manuals and models on its way to the browser: shown, never run.

Answers quote manuals word for word, and a manual is untrusted input (its text, its title, its
file name): `<img src=x onerror=…>` in a PDF must reach the screen as those characters.
`answer_markdown` prepares an answer for the chat's markdown renderer:

- raw HTML is escaped, so it shows as text with any renderer (the chat's renderer also runs with
  raw HTML off and an allow-list of elements: `components/chat.py`);
- markdown images and links become their text: an answer never loads an image (a remote image
  would send the question to another host) and never offers a link a manual or a prompt
  injection chose;
- then the text passes `nh3` (Ammonia) with no tag allowed, so nothing that parses as HTML
  survives even if the escaping above missed a case.

Code spans and fenced code are left alone: markdown never interprets HTML there.

Titles, file names, snippets, headings and conversation titles are rendered as text nodes
(React escapes them); they need no treatment here.
"""

from __future__ import annotations

import re

import nh3

_CODE = re.compile(r"(```.*?(?:```|$)|~~~.*?(?:~~~|$)|`+[^`\n]*`+)", re.S)
_IMAGE = re.compile(r"!\[([^\]\n]*)\]\s*(?:\([^)\n]*\)|\[[^\]\n]*\])")
_LINK = re.compile(r"(?<!\\)\[([^\]\n]+)\]\s*\((?:[^()\n]|\([^()\n]*\))*\)")
_REF_DEFINITION = re.compile(r"(?m)^ {0,3}\[[^\]\n]+\]:\s*\S+.*$")
_QUOTE_MARKER = re.compile(r"(?m)^((?:[ \t]*&gt;)+)")


def _prose(text: str) -> str:
    text = _IMAGE.sub(lambda m: m.group(1), text)
    text = _LINK.sub(lambda m: m.group(1), text)
    text = _REF_DEFINITION.sub("", text)
    text = nh3.clean(text.replace("<", "&lt;"), tags=set())
    # nh3 escapes every ">", which would turn markdown quotes ("> …") into text.
    return _QUOTE_MARKER.sub(lambda m: m.group(1).replace("&gt;", ">"), text)


def answer_markdown(text: str) -> str:
    """The answer as markdown that shows everything as text: see the module's docstring."""
    if not text:
        return ""
    out: list[str] = []
    last = 0
    for match in _CODE.finditer(text):
        out.append(_prose(text[last : match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(_prose(text[last:]))
    return "".join(out)
