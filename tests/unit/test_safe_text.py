"""Text from manuals on its way to the browser (issue 10 §1): shown, never run.

`safe_text.answer_markdown` is what the chat renders for every assistant message (streamed drafts,
saved answers, reopened conversations, the "not in your manuals" text that names the manuals
searched); `components.chat.render_answer` is the renderer, with raw HTML off and an allow-list.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import reflex as rx

from techdocs_app.components.chat import ANSWER_ELEMENTS, render_answer
from techdocs_app.rag.evidence import not_found_text
from techdocs_app.safe_text import answer_markdown

HOSTILE = [
    "<img src=x onerror=\"window.tdPwned='text'\">",
    '<iframe srcdoc="<script>parent.tdPwned=1</script>"></iframe>',
    "<script>window.tdPwned='script'</script>",
    "<svg onload=window.tdPwned=1>",
    '<a href="javascript:alert(1)">click</a>',
    "<IMG SRC=x ONERROR=alert(1)>",
    "<<img src=x onerror=alert(1)>",
    "<img\nsrc=x\nonerror=alert(1)>",
]


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.add(tag)


def _tags(markdown: str) -> set[str]:
    """Elements an HTML parser builds from the text (none, for safe output)."""
    parser = _Elements()
    parser.feed(markdown)
    parser.close()
    return parser.found


def test_markup_in_an_answer_is_escaped_and_reads_as_typed() -> None:
    for payload in HOSTILE:
        answer = f"Tighten the bolts to 95 Nm {payload} in a cross pattern [1]."
        shown = answer_markdown(answer)
        assert "<" not in shown, (payload, shown)
        assert _tags(shown) == set(), (payload, shown)
        assert shown.startswith("Tighten the bolts to 95 Nm &lt;") and shown.endswith("[1].")
        # What the reader sees once the markdown's entities are decoded: the markup, as text.
        assert "onerror" not in payload or "onerror" in shown.lower()


def test_images_and_links_become_their_text() -> None:
    answer = (
        "See ![torque chart](http://127.0.0.1:9/leak.png?q=zeta) and "
        "[the service bulletin](https://evil.example/b?q=torque) [2].\n\n"
        "[ref]: https://evil.example/ref\n"
        "Or <https://evil.example/auto>."
    )
    shown = answer_markdown(answer)
    assert "torque chart" in shown and "the service bulletin" in shown and "[2]" in shown
    assert "127.0.0.1:9" not in shown
    assert "](" not in shown and "[ref]:" not in shown
    assert "<https://" not in shown  # an autolink is escaped: no link element


def test_ordinary_answers_keep_their_markdown() -> None:
    answer = (
        "**Torque:** 95 N·m [1]\n\n"
        "> Warning: replace the pads in pairs.\n\n"
        "| Bolt | Torque |\n|---|---|\n| caliper | 95 N·m |\n\n"
        "- slide pins: 30 N·m\n- bleed screw: 8 N·m\n\n"
        "Values 5 > 3 and 2 < 4 stay readable; so does `<b>code</b>`:\n\n"
        "```\n<script>kept as code</script>\n```"
    )
    shown = answer_markdown(answer)
    assert shown.startswith("**Torque:** 95 N·m [1]\n\n> Warning: replace the pads in pairs.")
    assert "| Bolt | Torque |\n|---|---|\n| caliper | 95 N·m |" in shown
    assert "- slide pins: 30 N·m\n- bleed screw: 8 N·m" in shown
    assert "5 &gt; 3 and 2 &lt; 4" in shown
    # Code is shown as code by markdown itself, never parsed as HTML: left exactly as written.
    assert "`<b>code</b>`" in shown and "```\n<script>kept as code</script>\n```" in shown
    assert answer_markdown("") == ""


def test_not_found_text_names_a_hostile_title_as_text() -> None:
    title = "Zeta9 brakes <img src=x onerror=\"window.tdPwned='title'\"> service manual"
    shown = answer_markdown(not_found_text([title, "ender3 [reference](http://e.example)"]))
    assert "<" not in shown and _tags(shown) == set()
    assert "Zeta9 brakes &lt;img src=x onerror=" in shown
    assert "e.example" not in shown


def test_the_renderer_has_raw_html_off_and_an_allow_list() -> None:
    compiled = str(render_answer(rx.Var.create("x")))
    assert "rehypePlugins:[]" in compiled  # Reflex's default would add rehype-raw
    assert "rehypeRaw" not in compiled and "rehype-raw" not in compiled
    assert "unwrapDisallowed:true" in compiled  # a dropped element keeps its text
    allowed = re.search(r"allowedElements:\[([^\]]*)\]", compiled)
    assert allowed is not None
    elements = set(re.findall(r'"(\w+)"', allowed.group(1)))
    assert elements == set(ANSWER_ELEMENTS)
    for dangerous in ("img", "a", "iframe", "script", "input", "svg", "object", "embed"):
        assert dangerous not in elements
