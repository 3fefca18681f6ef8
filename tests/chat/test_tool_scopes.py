"""The model's memory tools stay inside the chat's scopes: the person's and the chat's project."""

import json

import pytest
from asgiref.sync import sync_to_async

from chat.models import Project
from memories import services
from memories.models import Memory
from tests.chat.test_tools import run_turn, tool_output
from tests.upstream import FunctionCall, Text


@pytest.fixture
def projects(user, make_project):
    return make_project(user, "Apollo"), make_project(user, "Zephyr")


async def add(user, text: str, project=None) -> Memory:
    project_id = project.pk if project else None
    result = await sync_to_async(services.add_memory)(user, text, project_id=project_id)
    return result.memory


@pytest.mark.django_db(transaction=True)
async def test_search_memory_never_reaches_another_project(
    upstream, user, projects, make_conversation
):
    apollo, zephyr = projects
    await add(user, "Release train leaves on Fridays", apollo)
    await add(user, "Release train leaves on Mondays", zephyr)
    await add(user, "Takes the 7:40 train")
    upstream.script(FunctionCall("search_memory", json.dumps({"query": "train"})), Text("Ok."))
    upstream.script(
        FunctionCall("search_memory", json.dumps({"query": "train", "scope": "project"})),
        Text("Ok."),
    )
    chat = await sync_to_async(make_conversation)(user, project=apollo)

    await run_turn(chat, "Which train?")
    await run_turn(chat, "Which release train?")

    bodies = upstream.responses_bodies()
    everything = {item["text"]: item["scope"] for item in tool_output(bodies[1])}
    assert everything == {
        "Release train leaves on Fridays": "project",
        "Takes the 7:40 train": "person",
    }
    in_project = {item["text"]: item["scope"] for item in tool_output(bodies[3])}
    assert "Release train leaves on Fridays" in in_project
    assert set(in_project.values()) == {"project"}
    assert "Release train leaves on Mondays" not in in_project


@pytest.mark.django_db(transaction=True)
async def test_remember_writes_to_the_asked_scope_and_refuses_the_person_in_project_only(
    upstream, user, projects, make_conversation
):
    apollo, _ = projects
    upstream.script(
        FunctionCall("remember", json.dumps({"text": "Staging is on port 8081"})), Text("Ok.")
    )
    upstream.script(
        FunctionCall("remember", json.dumps({"text": "Likes terse answers", "scope": "person"})),
        Text("Ok."),
    )
    chat = await sync_to_async(make_conversation)(user, project=apollo)
    await run_turn(chat, "Staging is on port 8081.")
    await run_turn(chat, "I like terse answers.")
    assert (await Memory.objects.aget(text="Staging is on port 8081")).project_id == apollo.pk
    assert (await Memory.objects.aget(text="Likes terse answers")).project_id is None

    apollo.memory_mode = Project.MemoryMode.PROJECT_ONLY
    await apollo.asave()
    upstream.script(
        FunctionCall("remember", json.dumps({"text": "Likes emoji", "scope": "person"})),
        Text("Ok."),
    )
    await run_turn(chat, "I like emoji.")

    assert "error" in tool_output(upstream.responses_bodies()[-1])
    assert not await Memory.objects.filter(text="Likes emoji").aexists()


@pytest.mark.django_db(transaction=True)
async def test_forget_only_forgets_within_the_chats_scopes(
    upstream, user, projects, make_conversation
):
    apollo, zephyr = projects
    theirs = await add(user, "The deploy key rotates weekly", zephyr)
    upstream.script(
        FunctionCall("forget", json.dumps({"about": "the deploy key rotates weekly"})),
        Text("Done."),
    )

    await run_turn(await sync_to_async(make_conversation)(user, project=apollo), "Forget it.")

    assert tool_output(upstream.responses_bodies()[1]) == {"forgotten": []}
    await theirs.arefresh_from_db()
    assert theirs.status == Memory.Status.ACTIVE
