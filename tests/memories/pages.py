"""What the memory page tests share: the htmx header and a memory text that must stay inert."""

HTMX = {"HTTP_HX_REQUEST": "true"}
HOSTILE = '<script>alert("x")</script><b>bold</b>'
