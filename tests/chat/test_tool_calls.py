"""Tool calls of an answer: kept as rows, listed under the answer, and sent back to the model."""

import json

import pytest
from asgiref.sync import sync_to_async
from django.urls import reverse

from accounts.models import User
from chat.history import TOOL_OUTPUT_HISTORY_CHARS
from chat.models import Message, ToolCall
from tests.upstream import FunctionCall, Text
from tests.websocket import frames_until_final, run_turn, send_chat

pytestmark = pytest.mark.django_db(transaction=True)


def function_items(body: dict) -> list[dict]:
    return [item for item in body["input"] if item.get("type", "").startswith("function_call")]


async def test_each_tool_call_of_an_answer_is_recorded_with_its_result_and_duration(
    upstream, conversation
):
    upstream.script(
        FunctionCall("find_time_zone", json.dumps({"place": "Lisbon"}), call_id="call_a"),
        FunctionCall("launch_rockets", "{}", call_id="call_b"),
        Text("Lisbon is on Europe/Lisbon."),
    )

    answer = await run_turn(conversation, "Which time zone is Lisbon in?")

    calls = [call async for call in ToolCall.objects.filter(message=answer)]
    assert [(call.name, call.arguments, call.is_error) for call in calls] == [
        ("find_time_zone", {"place": "Lisbon"}, False),
        ("launch_rockets", {}, True),
    ]
    assert json.loads(calls[0].output)[0]["time_zone"] == "Europe/Lisbon"
    assert "unknown tool 'launch_rockets'" in json.loads(calls[1].output)["error"]
    assert all(call.duration_ms >= 0 for call in calls)


async def test_the_next_turn_sends_the_earlier_tool_calls_back_to_the_model(upstream, conversation):
    upstream.script(
        FunctionCall("find_time_zone", json.dumps({"place": "Lisbon"})),
        Text("Lisbon is on Europe/Lisbon."),
        Text("Same as before."),
    )
    first_answer = await run_turn(conversation, "Which time zone is Lisbon in?")
    recorded = await ToolCall.objects.aget(message=first_answer)

    await run_turn(conversation, "And again?")

    next_turn = upstream.responses_bodies()[-1]["input"]
    call, output = function_items({"input": next_turn})
    assert call["name"] == "find_time_zone"
    assert json.loads(call["arguments"]) == {"place": "Lisbon"}
    assert output == {
        "type": "function_call_output",
        "call_id": call["call_id"],
        "output": recorded.output,
    }
    # In the order they happened: the question, the call and its result, then the answer.
    texts = [item.get("content") or item["type"] for item in next_turn]
    position = texts.index
    assert (
        position("Which time zone is Lisbon in?")
        < position("function_call")
        < position("function_call_output")
        < position("Lisbon is on Europe/Lisbon.")
        < position("And again?")
    )


async def test_later_turns_get_a_long_tool_output_cut_short(upstream, conversation):
    upstream.script(FunctionCall("find_time_zone", json.dumps({"place": "Lisbon"})), Text("Ok."))
    answer = await run_turn(conversation, "Which time zone is Lisbon in?")
    await ToolCall.objects.filter(message=answer).aupdate(output="x" * 10_000)
    upstream.script(Text("Ok."))

    await run_turn(conversation, "Thanks")

    _, output = function_items(upstream.responses_bodies()[-1])
    assert output["output"].startswith("x" * TOOL_OUTPUT_HISTORY_CHARS)
    assert len(output["output"]) < TOOL_OUTPUT_HISTORY_CHARS + 20


async def test_another_conversations_tool_calls_never_reach_the_model(
    upstream, make_conversation, user, other_user
):
    theirs = await sync_to_async(make_conversation)(other_user)
    mine_elsewhere = await sync_to_async(make_conversation)(user)
    upstream.script(FunctionCall("find_time_zone", json.dumps({"place": "Tokyo"})), Text("Ok."))
    await run_turn(theirs, "Where is Tokyo?")
    upstream.script(FunctionCall("find_time_zone", json.dumps({"place": "Oslo"})), Text("Ok."))
    await run_turn(mine_elsewhere, "Where is Oslo?")
    mine = await sync_to_async(make_conversation)(user)
    upstream.script(Text("Hi."), Text("Hi again."))

    await run_turn(mine, "Hello")
    await run_turn(mine, "Hello again")

    assert function_items(upstream.responses_bodies()[-1]) == []


async def test_the_finished_answer_arrives_with_its_tool_calls_listed(
    open_chat, upstream, conversation, user
):
    # A tool we do not have: its error is recorded too, and nothing waits for the embedder.
    upstream.script(FunctionCall("launch_rockets", "{}"), Text("I cannot do that."))
    socket = await open_chat(conversation.pk, user)

    await send_chat(socket, "Launch the rockets")
    *_, final = [frame async for frame in frames_until_final(socket, seconds=30)]

    assert '<details class="tool-calls">' in final
    assert "1 tool call<" in final and "launch_rockets" in final


def answer_with_tool_calls(conversation) -> Message:
    answer = Message.objects.create(
        conversation=conversation, role="assistant", content="It is Europe/Lisbon."
    )
    ToolCall.objects.create(
        message=answer,
        name="find_time_zone",
        arguments={"place": "<b>Lisbon</b>"},
        output='[{"time_zone": "Europe/Lisbon"}]',
        duration_ms=3.2,
    )
    ToolCall.objects.create(
        message=answer,
        name="launch_rockets",
        output='{"error": "unknown tool"}',
        is_error=True,
        duration_ms=0.1,
    )
    return answer


def test_tool_calls_are_listed_under_their_answer_collapsed(client_for, user, conversation):
    answer_with_tool_calls(conversation)

    page = client_for(user).get(conversation.get_absolute_url()).content.decode()

    assert '<details class="tool-calls">' in page
    assert "2 tool calls" in page
    assert "find_time_zone" in page and "launch_rockets" in page
    assert "Europe/Lisbon" in page and "unknown tool" in page
    assert "&lt;b&gt;Lisbon&lt;/b&gt;" in page and "<b>Lisbon</b>" not in page


def test_the_admin_shows_tool_calls_on_their_message(client, conversation):
    answer = answer_with_tool_calls(conversation)
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))

    page = client.get(reverse("admin:chat_message_change", args=[answer.pk])).content.decode()

    assert "find_time_zone" in page and "launch_rockets" in page
