"""The XSS oracle itself: every HTML payload, left as markup, is caught; plain pages pass."""

import pytest

from tests.html_safety import HTML_PAYLOADS, executable_parts


@pytest.mark.parametrize("payload", HTML_PAYLOADS)
def test_each_html_payload_left_as_markup_is_found(payload):
    assert executable_parts(f"<p>{payload}</p>")


@pytest.mark.parametrize(
    "markup",
    [
        '<script src="/static/js/chat.js" defer></script>',
        '<link rel="stylesheet" href="/static/css/base.css">',
        '<a href="https://example.com/a:b">x</a> <a href="/memories/?q=a:b">y</a>',
        '<script type="application/json" id="data">{"a": 1}</script>',
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>",
    ],
)
def test_the_pages_own_scripts_styles_links_and_escaped_text_are_inert(markup):
    assert executable_parts(markup) == []
