"""The conversation so far as model input: its latest turns and the tools their answers ran."""

from django.conf import settings
from django.db.models import Prefetch

from chat.models import Conversation, Message, ToolCall

# A tool's output can be long (a memory search, say); older turns only need its gist.
TOOL_OUTPUT_HISTORY_CHARS = 2000


def history_items(conversation: Conversation, before: Message) -> list[dict]:
    """The latest turns before `before` as Responses API input items, oldest first.

    Each answer is preceded by the function_call and function_call_output items of the tools it
    ran, so the model knows what it already did and what came back.
    """
    messages = list(
        conversation.messages.filter(pk__lt=before.pk)
        .exclude(status__in=[Message.Status.ERROR, Message.Status.STREAMING])
        .exclude(content="")
        .prefetch_related(Prefetch("tool_calls", queryset=ToolCall.objects.order_by("id")))
        .order_by("-created_at", "-id")[: settings.CHAT_HISTORY_TURNS]
    )
    messages.reverse()
    items: list[dict] = []
    for message in messages:
        for call in message.tool_calls.all():
            items.extend(_tool_call_items(call))
        items.append({"role": message.role, "content": message.content})
    return items


def _tool_call_items(call: ToolCall) -> list[dict]:
    # Our own id, not the upstream's: some servers reuse "call_1" in every response.
    call_id = f"call_recall_{call.pk}"
    output = call.output
    if len(output) > TOOL_OUTPUT_HISTORY_CHARS:
        output = output[:TOOL_OUTPUT_HISTORY_CHARS] + " …(cut short)"
    return [
        {
            "type": "function_call",
            "call_id": call_id,
            "name": call.name,
            "arguments": call.arguments_json,
        },
        {"type": "function_call_output", "call_id": call_id, "output": output},
    ]
