"""The conversation so far as model input: its latest turns and the tools their answers ran."""

from django.conf import settings
from django.db.models import Prefetch

from chat.models import Conversation, Message, ToolCall
from memories.recall import estimate_tokens

# A tool's output can be long (a memory search, say); older turns only need its gist.
TOOL_OUTPUT_HISTORY_CHARS = 2000
# An older message is left out of the history rather than cut to fewer tokens than this.
HISTORY_MIN_TOKENS = 50
HISTORY_CUT_NOTE = "[The rest of this message was cut here.]"
# As estimate_tokens counts them.
CHARS_PER_TOKEN = 4


def history_items(conversation: Conversation, before: Message) -> list[dict]:
    """The latest turns before `before` as Responses API input items, oldest first.

    Each answer is preceded by the function_call and function_call_output items of the tools it
    ran, so the model knows what it already did and what came back. At most CHAT_HISTORY_TURNS
    messages and about CHAT_HISTORY_TOKENS tokens, filled from the newest: the newest message goes
    whole; an older one is cut to what is left of the budget, and to a quarter of it at most, so
    one long answer cannot crowd out the turns around it. A message's tool calls go with it or
    not at all, never a call without its output.
    """
    messages = list(
        conversation.messages.filter(pk__lt=before.pk, is_replaced=False)
        .exclude(status__in=[Message.Status.ERROR, Message.Status.STREAMING])
        .exclude(content="")
        .prefetch_related(Prefetch("tool_calls", queryset=ToolCall.objects.order_by("id")))
        .order_by("-created_at", "-id")[: settings.CHAT_HISTORY_TURNS]
    )
    budget = settings.CHAT_HISTORY_TOKENS
    newest_first: list[list[dict]] = []
    for message in messages:
        content = message.content
        calls = [item for call in message.tool_calls.all() for item in _tool_call_items(call)]
        if newest_first:
            allowance = min(budget, settings.CHAT_HISTORY_TOKENS // 4)
            if allowance < HISTORY_MIN_TOKENS:
                break
            content = _cut_to_tokens(content, allowance)
            if budget - estimate_tokens(content) < _tokens_of(calls):
                calls = []
        budget -= estimate_tokens(content) + _tokens_of(calls)
        newest_first.append([*calls, {"role": message.role, "content": content}])
    return [item for turn in reversed(newest_first) for item in turn]


def _tokens_of(items: list[dict]) -> int:
    return sum(estimate_tokens(item.get("arguments") or item.get("output") or "") for item in items)


def _cut_to_tokens(text: str, tokens: int) -> str:
    if estimate_tokens(text) <= tokens:
        return text
    keep = max(0, tokens * CHARS_PER_TOKEN - len(HISTORY_CUT_NOTE) - 1)
    return f"{text[:keep]}\n{HISTORY_CUT_NOTE}"


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
