"""Exports and imports: the payload, the round trip, and files that are not exports."""

import pytest

from memories import exports, selectors


def test_export_then_import_into_a_fresh_account_round_trips_and_skips_duplicates(
    user, other_user, make_memory
):
    make_memory(user, "Lives in Berlin", kind="profile", slot="profile:home")
    make_memory(user, "Lives in Lisbon", kind="profile", slot="profile:home")
    exported = exports.export_memories(user)

    first = exports.import_memories(other_user, exported)
    again = exports.import_memories(other_user, exported)

    assert (first.added, first.skipped) == (2, 0)
    assert (again.added, again.skipped) == (0, 2)
    statuses = dict(selectors.memories_of(other_user).values_list("text", "status"))
    assert statuses == {"Lives in Berlin": "superseded", "Lives in Lisbon": "active"}


def test_importing_something_that_is_not_an_export_says_so(user):
    with pytest.raises(exports.InvalidExport, match="not valid JSON"):
        exports.read_export_file(b"{nope")
    with pytest.raises(exports.InvalidExport, match="not a memory export"):
        exports.import_memories(user, {"memories": []})


def test_a_malformed_entry_is_reported_and_the_rest_imported(user):
    export = {
        "format": exports.EXPORT_FORMAT,
        "memories": ["just a string", {"text": ""}, {"text": "Plays the cello"}],
    }

    result = exports.import_memories(user, export)

    assert result.added == 1
    assert result.errors == ["memory 1: not an object", "memory 2: A memory needs some text."]
    with pytest.raises(exports.InvalidExport, match="must be a list"):
        exports.import_memories(user, {"format": exports.EXPORT_FORMAT, "memories": {"a": 1}})
