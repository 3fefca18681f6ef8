"""Memory forms refuse NUL characters, which PostgreSQL cannot store, with a clear message."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from memories import services
from memories.models import Memory

NUL = "\x00"


def export_file(*entries: dict) -> SimpleUploadedFile:
    data = {"format": "recall-memories/1", "memories": list(entries)}
    return SimpleUploadedFile("m.json", json.dumps(data).encode(), "application/json")


def test_adding_a_memory_with_a_nul_in_its_text_is_refused(client, user):
    response = client.post(reverse("memories:add"), {"text": f"Likes{NUL} tea", "kind": "other"})

    assert response.status_code == 400
    assert "Null characters are not allowed" in response.content.decode()
    assert not Memory.objects.filter(owner=user).exists()


@pytest.mark.parametrize("tags", [f"work{NUL}", f"work, tr{NUL}avel"])
def test_adding_a_memory_with_a_nul_in_its_tags_is_refused(client, user, tags):
    response = client.post(
        reverse("memories:add"), {"text": "Likes tea", "kind": "other", "tags": tags}
    )

    assert response.status_code == 400
    assert "Null characters are not allowed" in response.content.decode()
    assert not Memory.objects.filter(owner=user).exists()


def test_editing_a_memory_with_a_nul_in_its_tags_is_refused(client, user):
    memory = services.add_memory(user, "Likes tea", tags=["drinks"]).memory

    response = client.post(
        reverse("memories:edit", args=[memory.pk]),
        {"text": "Likes green tea", "kind": "other", "tags": f"drinks{NUL}"},
    )

    memory.refresh_from_db()
    assert response.status_code == 400
    assert "Null characters are not allowed" in response.content.decode()
    assert (memory.text, memory.tags) == ("Likes tea", ["drinks"])


@pytest.mark.parametrize(
    "entry",
    [
        {"text": f"Owns a{NUL} canoe"},
        {"text": "Owns a canoe", "tags": [f"boats{NUL}"]},
        {"text": "Owns a canoe", "metadata": {"note": f"x{NUL}"}},
        {"text": "Owns a canoe", f"odd{NUL}key": 1},
    ],
)
def test_an_import_file_with_a_nul_anywhere_is_refused_whole(client, user, entry):
    upload = export_file({"text": "Speaks Italian"}, entry)

    response = client.post(reverse("memories:import"), {"file": upload})

    assert response.status_code == 400
    assert "NUL character" in response.content.decode()
    assert "entry 2 contains a NUL character" in response.content.decode()
    assert not Memory.objects.filter(owner=user).exists()
