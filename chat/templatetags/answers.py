"""Template filters for showing the model's answers."""

from django import template
from django.utils.safestring import SafeString

from chat.rendering import render_answer_html

register = template.Library()


@register.filter
def answer_html(text: str) -> SafeString:
    """An answer's Markdown as sanitised HTML: `{{ message.content|answer_html }}`."""
    return render_answer_html(text)
