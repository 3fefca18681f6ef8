"""What the memory page tests share: the htmx header, a memory text that must stay inert, and
reading the list."""

from django.http import HttpResponse

HTMX = {"HTTP_HX_REQUEST": "true"}
HOSTILE = '<script>alert("x")</script><b>bold</b>'


def listed_texts(response: HttpResponse) -> list[str]:
    """The memory texts the dashboard list shows, in order."""
    return [memory.text for memory in response.context["page"].object_list]
