"""Memory querysets: what may reach a prompt, and what the "Is this still true?" card asks about."""

from datetime import timedelta

from django.utils import timezone

from memories import selectors
from memories.models import Memory


def test_expired_memories_are_not_injectable(user, make_memory):
    live = make_memory(user, "Is renovating the kitchen", kind="task")
    expired = make_memory(user, "Has a dentist appointment on Monday", kind="task")
    Memory.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    later = make_memory(user, "Is training for a marathon", kind="task")
    Memory.objects.filter(pk=later.pk).update(expires_at=timezone.now() + timedelta(days=1))

    injectable = set(Memory.objects.owned_by(user).injectable())

    assert injectable == {live, later}


def test_the_stale_card_never_asks_about_an_expired_memory(user, make_memory, settings):
    settings.MEMORY_STALE_AFTER_DAYS = {"task": 30}
    stale = make_memory(user, "Is renovating the kitchen", kind="task")
    expired = make_memory(user, "Is planning a trip to Peru", kind="task")
    long_ago = timezone.now() - timedelta(days=60)
    Memory.objects.filter(pk__in=[stale.pk, expired.pk]).update(confirmed_at=long_ago)
    Memory.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(hours=1))

    assert selectors.stale_memories(user) == [stale]
