"""export_memories and import_memories: the dashboard's export and import from the command line."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from memories import exports, services
from memories.models import Memory


def export_of(username: str, *args: str) -> str:
    out = io.StringIO()
    call_command("export_memories", username, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_export_writes_the_users_memories_with_history_to_stdout(user, other_user):
    memory = services.add_memory(user, "Likes hiking").memory
    services.update_memory(user, memory.pk, text="Likes hiking in Norway")
    services.add_memory(other_user, "Owns a red bicycle")

    data = json.loads(export_of("alice"))

    assert data["format"] == exports.EXPORT_FORMAT
    assert [item["text"] for item in data["memories"]] == ["Likes hiking in Norway"]
    assert [event["action"] for event in data["memories"][0]["history"]] == ["edited", "added"]


def test_export_to_a_file_then_import_for_another_user(user, other_user, tmp_path):
    services.add_memory(user, "Likes hiking", kind="preference", tags=["outdoors"])
    services.add_memory(user, "Speaks Dutch", kind="profile")
    path = tmp_path / "alice.json"

    export_of("alice", "-o", str(path))
    out = io.StringIO()
    call_command("import_memories", "mallory", str(path), stdout=out, stderr=io.StringIO())

    imported = Memory.objects.filter(owner=other_user).order_by("text")
    assert [(m.text, m.kind, m.tags) for m in imported] == [
        ("Likes hiking", "preference", ["outdoors"]),
        ("Speaks Dutch", "profile", []),
    ]
    assert "Added 2, skipped 0" in out.getvalue()


def test_importing_the_same_file_twice_skips_duplicates(user, tmp_path):
    services.add_memory(user, "Likes hiking")
    path = tmp_path / "alice.json"
    export_of("alice", "-o", str(path))

    out = io.StringIO()
    call_command("import_memories", "alice", str(path), stdout=out, stderr=io.StringIO())

    assert "Added 0, skipped 1" in out.getvalue()
    assert Memory.objects.filter(owner=user).count() == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"format": "other"}', "not a memory export"),
        # item 17: PostgreSQL cannot store a NUL; the command refuses the file as the page does.
        (
            b'{"format": "recall-memories/1", "memories": [{"text": "Owns a\\u0000 canoe"}]}',
            "entry 1 contains a NUL character",
        ),
    ],
)
def test_a_bad_file_is_a_clear_error_and_changes_nothing(user, tmp_path, content, message):
    services.add_memory(user, "Likes hiking")
    path = tmp_path / "bad.json"
    path.write_bytes(content)

    with pytest.raises(CommandError, match=message):
        call_command("import_memories", "alice", str(path))

    assert list(Memory.objects.filter(owner=user).values_list("text", flat=True)) == [
        "Likes hiking"
    ]


def test_unknown_user_and_missing_file_are_clear_errors(user, tmp_path):
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        export_of("nobody")
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_memories", "alice", str(tmp_path / "missing.json"))
