"""XSS payloads, and what in a page a browser would run or load by itself, found by parsing it."""

from html.parser import HTMLParser

# Each would run script if it reached a page as markup.
HTML_PAYLOADS = [
    "<script>alert(1)</script>",
    "<<script>script>alert(1)<</script>/script>",
    '<img src=x onerror="alert(1)">',
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<object data=javascript:alert(1)></object>",
    "<details open ontoggle=alert(1)>x</details>",
    "<form action=javascript:alert(1)><button>go</button></form>",
    "<meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
    '<a href="javascript:alert(1)">click</a>',
    "<a href='&#x6A;avascript:alert(1)'>click</a>",
    '<a href="https://example.com" onclick="alert(1)">click</a>',
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
]
# Each would run script if a Markdown renderer let it through.
MARKDOWN_PAYLOADS = [
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](<javascript:alert(1)>)",
    "[click](&#106;avascript:alert(1))",
    "[click](javascript&#58;alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '[click](https://example.com "title" onclick="alert(1)")',
    "<javascript:alert(1)>",
    "![x](javascript:alert(1))",
    '![x](https://example.com/x.png" onerror="alert(1))',
    "[![x](https://example.com/x.png)](javascript:alert(1))",
    "[ref]\n\n[ref]: javascript:alert(1)",
    "```\n</code></pre><script>alert(1)</script>\n```",
    "```html\n<script>alert(1)</script><img src=x onerror=alert(1)>\n```",
    '```python" onmouseover="alert(1)\nprint(1)\n```',
    "`<img src=x onerror=alert(1)>`",
    "| a |\n|---|\n| <img src=x onerror=alert(1)> |",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
]
XSS_PAYLOADS = HTML_PAYLOADS + MARKDOWN_PAYLOADS

# Elements that fetch or show another document by themselves.
_LOADING_TAGS = {
    "iframe", "frame", "object", "embed", "applet", "base",
    "img", "image", "video", "audio", "source", "track", "link",
}  # fmt: skip
_URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "srcdoc", "xlink:href", "poster"}
_SAFE_SCHEMES = {"http", "https", "mailto"}
_OWN_STATIC = "/static/"
_OWN_SCRIPTS = (_OWN_STATIC, "/admin/jsi18n/")


def _scheme(url: str) -> str | None:
    """The scheme a browser would read in `url` (it ignores control characters and spaces)."""
    url = "".join(char for char in url if char > " ").lower()
    head = url.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return head.split(":", 1)[0] if ":" in head else None


class _ExecutablePartsFinder(HTMLParser):
    def __init__(self) -> None:
        # convert_charrefs: attribute values and text arrive decoded, as a browser reads them.
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "script" and not self._is_own_script(values):
            self.found.append(f"<script {values}>")
        if tag in _LOADING_TAGS and not any(
            values.get(name, "").startswith(_OWN_STATIC) for name in ("src", "href")
        ):
            self.found.append(f"<{tag}> loading {values}")
        # html.parser reads a <style> as raw text, where a browser inside <svg> or <math> reads
        # elements (mutation XSS): so any <style> counts, and what it hides is never missed.
        if tag == "style":
            self.found.append("<style>")
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            self.found.append(f"<meta> refresh {values}")
        self.found.extend(
            f"<{tag} {name}={value!r}>"
            for name, value in values.items()
            if name.startswith("on")
            or (name in _URL_ATTRIBUTES and _scheme(value) not in (None, *_SAFE_SCHEMES))
            or (name == "style" and ("javascript:" in value.lower() or "expression(" in value))
        )

    @staticmethod
    def _is_own_script(values: dict[str, str]) -> bool:
        return values.get("src", "").startswith(_OWN_SCRIPTS) or (
            "src" not in values and values.get("type") == "application/json"
        )

    handle_startendtag = handle_starttag


def executable_parts(html: str) -> list[str]:
    """Scripts, event handlers, script URLs and self-loading elements in `html` (empty: inert).

    Scripts and stylesheets from our own /static/ (and the admin's translations) are the page's.
    """
    finder = _ExecutablePartsFinder()
    finder.feed(html)
    finder.close()
    return finder.found


class _TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))

    handle_startendtag = handle_starttag

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> tuple[list[tuple[str, dict[str, str]]], str]:
    """The start tags of `html` with their attributes, and its text as a reader sees it."""
    collector = _TagCollector()
    collector.feed(html)
    collector.close()
    return collector.tags, "".join(collector.text)
