"""Export and import on the dashboard: the owner's memories out and back in, bad files refused."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from memories import services
from memories.models import Memory


def test_export_downloads_all_memories_with_history(client, user, memory, other_user):
    services.update_memory(user, memory.pk, text="Likes hiking in Norway")
    services.add_memory(other_user, "Mallory's note")

    response = client.get(reverse("memories:export"))

    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith('attachment; filename="memories-')
    data = json.loads(response.content)
    assert [item["text"] for item in data["memories"]] == ["Likes hiking in Norway"]
    assert [event["action"] for event in data["memories"][0]["history"]] == ["edited", "added"]


def test_import_adds_new_memories_and_skips_duplicates(
    client, client_for, user, memory, other_user
):
    services.add_memory(other_user, "Speaks Italian")
    services.add_memory(other_user, "Likes hiking in the Alps")
    exported = client_for(other_user).get(reverse("memories:export")).content
    upload = SimpleUploadedFile("memories.json", exported, content_type="application/json")

    response = client.post(reverse("memories:import"), {"file": upload})

    result = response.context["result"]
    assert response.status_code == 200
    assert (result.added, result.skipped) == (1, 1)
    assert "Added 1, skipped 1 already known" in response.content.decode()
    assert sorted(Memory.objects.filter(owner=user).values_list("text", flat=True)) == [
        "Likes hiking in the Alps",
        "Speaks Italian",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json at all", "not valid JSON"),
        (b'{"format": "something-else", "memories": []}', "not a memory export"),
        (b'{"format": "recall-memories/1", "memories": ["just a string"]}', "not a memory export"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
    ],
)
def test_a_bad_import_file_is_refused_with_a_clear_error_and_nothing_lost(
    client, user, memory, content, message
):
    upload = SimpleUploadedFile("memories.json", content, content_type="application/json")

    response = client.post(reverse("memories:import"), {"file": upload})

    assert response.status_code == 400
    assert message in response.content.decode()
    assert list(Memory.objects.filter(owner=user)) == [memory]


def test_import_reports_unreadable_entries(client, user):
    data = {
        "format": "recall-memories/1",
        "memories": [
            {"text": "Owns a canoe"},
            {"text": "x", "kind": "nonsense"},
            {"kind": "other"},
        ],
    }
    upload = SimpleUploadedFile(
        "m.json", json.dumps(data).encode(), content_type="application/json"
    )

    response = client.post(reverse("memories:import"), {"file": upload})

    result = response.context["result"]
    assert result.added == 1 and len(result.errors) == 2
    assert "could not be read" in response.content.decode()


def test_export_and_import_carry_each_memorys_project(user, other_user, make_project, make_memory):
    from chat.models import Project
    from memories import exports

    apollo = make_project(user, "Apollo")
    make_memory(user, "Decided to launch on Friday", kind="task", project_id=apollo.pk)
    make_memory(user, "Likes tea", kind="preference")
    existing = make_project(other_user, "APOLLO")

    result = exports.import_memories(other_user, exports.export_memories(user))

    assert result.added == 2
    scopes = dict(other_user.memories.values_list("text", "project_id"))
    assert scopes == {"Decided to launch on Friday": existing.pk, "Likes tea": None}
    assert Project.objects.filter(owner=other_user).count() == 1
