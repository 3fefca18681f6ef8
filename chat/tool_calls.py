"""The record of the tools the model ran while answering."""

from chat.agent import ToolCalled
from chat.models import Message, ToolCall


def record_tool_call(answer: Message, called: ToolCalled) -> ToolCall:
    return ToolCall.objects.create(
        message=answer,
        name=called.name,
        arguments=called.arguments,
        output=called.output,
        is_error=called.failed,
        duration_ms=called.duration_ms,
    )
