"""Items 15 and 17: import files that used to crash. Every entry is checked before any is stored;
an unreadable one is skipped and reported with its number and why, and what was meant is kept."""

import json

import pytest

from memories import exports, selectors
from memories.models import Memory


def export_of(*entries) -> dict:
    return {"format": exports.EXPORT_FORMAT, "memories": list(entries)}


def read(text: str) -> dict:
    return exports.read_export_file(text.encode())


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ({"text": "Owns a canoe", "slot": 7}, "slot: Input should be a valid string"),
        ({"text": "Owns a canoe", "slot": ["a", "b"]}, "slot: Input should be a valid string"),
        ({"text": "Owns a canoe", "expires_at": "10000-01-01T00:00:00Z"}, "expires_at: "),
        ({"text": "Owns a canoe", "expires_at": "0001-01-01T00:00:00+05:00"}, "out of range"),
        ({"text": "Owns a canoe", "expires_at": 1e300}, "expires_at: "),
        ({"text": "Owns a canoe", "status": "deleted"}, "status: Input should be"),
        ({"text": "Owns a canoe", "kind": "nonsense"}, "kind: Input should be"),
        ({"text": ["Owns", "a canoe"]}, "text: Input should be a valid string"),
        ({"text": "Owns a canoe", "metadata": "just text"}, "metadata: Input should be"),
        ({"text": "Owns a canoe", "tags": [1, 2]}, "tags.0: Input should be a valid string"),
    ],
)
def test_an_entry_of_the_wrong_shape_is_reported_and_the_others_imported(user, entry, error):
    result = exports.import_memories(user, export_of({"text": "Speaks Italian"}, entry))

    assert result.added == 1
    assert len(result.errors) == 1
    assert result.errors[0].startswith("memory 2: ") and error in result.errors[0]
    assert list(selectors.memories_of(user).values_list("text", flat=True)) == ["Speaks Italian"]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_or_infinity_in_metadata_skips_that_entry(user, constant):
    data = read(
        '{"format": "recall-memories/1", "memories": [{"text": "Speaks Italian"},'
        f' {{"text": "Owns a canoe", "metadata": {{"score": {constant}}}}}]}}'
    )

    result = exports.import_memories(user, data)

    assert result.added == 1
    assert result.errors == ["memory 2: metadata: holds NaN or Infinity, which JSON does not allow"]


def test_metadata_nested_past_the_limit_skips_that_entry(user):
    nested: dict = {}
    for _ in range(exports.METADATA_MAX_DEPTH + 5):
        nested = {"inner": nested}

    result = exports.import_memories(user, export_of({"text": "Owns a canoe", "metadata": nested}))

    assert result.added == 0
    assert result.errors == ["memory 1: metadata: nests deeper than 10 levels"]


def test_a_file_nested_too_deeply_to_parse_is_refused_with_a_clear_error():
    with pytest.raises(exports.InvalidExport, match="nests too deeply"):
        read('{"format": "recall-memories/1", "memories": []' + ', "x": ' + "[" * 100_000)


def test_what_the_file_meant_is_stored(user):
    result = exports.import_memories(
        user,
        export_of(
            {"text": "Owns a canoe", "tags": "boats", "slot": None, "metadata": None},
            {"text": "Plays chess", "tags": None, "expires_at": "2999-01-01T10:00:00"},
        ),
    )

    assert (result.added, result.errors) == (2, [])
    canoe = Memory.objects.get(owner=user, text="Owns a canoe")
    assert (canoe.tags, canoe.slot, canoe.metadata) == (["boats"], "", {"imported": True})
    chess = Memory.objects.get(owner=user, text="Plays chess")
    assert chess.tags == []
    assert chess.expires_at.isoformat() == "2999-01-01T10:00:00+00:00"


def test_too_many_entries_are_refused_whole_with_the_limit(settings):
    settings.MEMORY_IMPORT_MAX_ENTRIES = 3
    data = json.dumps(export_of(*({"text": f"Fact {n}"} for n in range(4))))

    with pytest.raises(exports.InvalidExport, match="holds 4 memories; at most 3 can be imported"):
        read(data)
