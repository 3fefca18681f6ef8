"""The offline demo model: it reads the memory block the way a model would."""

from chat.offline import compose_reply


def test_the_offline_model_shows_escaped_memories_as_written():
    block = (
        "<user_memories>\nNotes.\n"
        "- Writes &lt;b&gt; tags &amp; entities (preference, 2025-01-02)\n</user_memories>"
    )

    reply = compose_reply(
        [{"role": "developer", "content": block}, {"role": "user", "content": "Hi"}]
    )

    assert "• Writes <b> tags & entities (preference, 2025-01-02)" in reply
