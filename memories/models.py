"""What the agent remembers about each account, the history of every change, and where it was used.

This is the one source of truth: retrieval, mem0, the dashboard and the admin all read these rows.
"""

import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

if TYPE_CHECKING:
    from accounts.models import User


class MemoryKind(models.TextChoices):
    PREFERENCE = "preference"
    PROFILE = "profile"
    TASK = "task"
    TOOL_RESULT = "tool_result", "Tool result"
    OTHER = "other"
    # A short account of one conversation in a project, linked to it (source_conversation).
    SUMMARY = "summary"


class MemoryQuerySet(models.QuerySet):
    def owned_by(self, owner: "User") -> "MemoryQuerySet":
        return self.filter(owner=owner)

    def in_scope(self, project_id: int | None) -> "MemoryQuerySet":
        """Person-level memories when `project_id` is None, else that project's."""
        return self.filter(project_id=project_id)

    def injectable(self) -> "MemoryQuerySet":
        """Memories that may reach a prompt: active and not expired."""
        now = timezone.now()
        return self.filter(status=Memory.Status.ACTIVE).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class Memory(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        # Waiting for the owner to approve it (approve-before-save mode); never injected.
        PENDING = "pending"
        SUPERSEDED = "superseded"
        # Deleted, kept for a short undo window; never injected nor listed.
        DELETED = "deleted"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memories"
    )
    # The scope: None for the person (read everywhere the person's memories are), else the one
    # project whose chats read it. Deleting a project deletes its memories, never the person's.
    project = models.ForeignKey(
        "chat.Project", null=True, blank=True, on_delete=models.CASCADE, related_name="memories"
    )
    text = models.TextField()
    kind = models.CharField(max_length=16, choices=MemoryKind.choices, default=MemoryKind.OTHER)
    # A fact that can change over time ("where I live") carries a slot; a new fact in the same
    # slot supersedes the old one.
    slot = models.CharField(max_length=100, blank=True, db_index=True)
    tags = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    content_hash = models.CharField(max_length=64, db_index=True)
    embedding = models.BinaryField(editable=False)
    source_conversation = models.ForeignKey(
        "chat.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source_message = models.ForeignKey(
        "chat.Message",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="memories_created",
    )
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="supersedes"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # When the owner last said it is still true (or created it); drives "Is this still true?".
    confirmed_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    use_count = models.PositiveIntegerField(default=0)
    # The owner's memory revision at this row's last change: lets every process refresh its
    # search index incrementally (see memories.index).
    revision = models.BigIntegerField(default=0)

    objects = MemoryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "memories"
        indexes = [
            models.Index(fields=["owner", "status", "-created_at"]),
            models.Index(fields=["owner", "revision"]),
            models.Index(fields=["owner", "kind"]),
            models.Index(fields=["owner", "project"]),
        ]

    def __str__(self) -> str:
        return self.text[:80]

    def get_absolute_url(self) -> str:
        return reverse("memories:detail", args=[self.pk])

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()


class MemoryEvent(models.Model):
    """One entry of a memory's history."""

    class Action(models.TextChoices):
        ADDED = "added"
        EDITED = "edited"
        SUPERSEDED = "superseded"
        RESTORED = "restored"
        DELETED = "deleted"
        UNDELETED = "undeleted"
        APPROVED = "approved"
        CONFIRMED = "confirmed"
        IMPORTED = "imported"
        # Moved between the person and a project (old_text/new_text name the scopes).
        MOVED = "moved"

    memory = models.ForeignKey(Memory, on_delete=models.CASCADE, related_name="events")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memory_events"
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    old_text = models.TextField(blank=True)
    new_text = models.TextField(blank=True)
    # For a supersession: the memory that replaced this one.
    related_memory = models.ForeignKey(
        Memory, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.ForeignKey(
        "chat.Message",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="memory_events",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.action}: {self.new_text[:60] or self.old_text[:60]}"


class MemoryAccess(models.Model):
    """A memory injected into the context of one answer."""

    memory = models.ForeignKey(Memory, on_delete=models.CASCADE, related_name="accesses")
    message = models.ForeignKey(
        "chat.Message", on_delete=models.CASCADE, related_name="memory_accesses"
    )
    score = models.FloatField(default=0.0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["memory", "message"], name="one_access_per_answer")
        ]

    def __str__(self) -> str:
        return f"{self.memory_id} -> {self.message_id}"


class MemorySettings(models.Model):
    """Per-account memory switches, and the revision counter behind the search index."""

    owner = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memory_settings"
    )
    paused = models.BooleanField(default=False, help_text="Read and write no memories at all.")
    require_approval = models.BooleanField(
        default=False, help_text="New memories wait for approval before they are ever used."
    )
    revision = models.BigIntegerField(default=0)
    # Bumped when memories are removed for good, which revisions cannot express.
    epoch = models.BigIntegerField(default=0)

    class Meta:
        verbose_name_plural = "memory settings"

    def __str__(self) -> str:
        return f"memory settings of {self.owner}"


class ExtractionRun(models.Model):
    """The durable record of extracting memories from one finished turn, kept until it succeeds."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DONE = "done"
        FAILED = "failed"

    message = models.OneToOneField(
        "chat.Message", on_delete=models.CASCADE, related_name="extraction_run"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # The attempt running now: who claimed it, and until when the claim holds unless renewed.
    # A claim that lapsed belongs to a worker that died; the run is then queued again.
    claimed_by = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["status", "lease_expires_at"])]

    def __str__(self) -> str:
        return f"extraction of message {self.message_id}: {self.status}"


class ImportJob(models.Model):
    """An uploaded export being imported in the background; the file waits here until it is."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memory_imports"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # The uploaded JSON as it came; emptied once the import ended.
    source = models.TextField(blank=True)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    added = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    # "memory N: why", for each entry that could not be imported.
    errors = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"import {self.pk} of {self.owner_id}: {self.status}"

    def get_absolute_url(self) -> str:
        return reverse("memories:import_job", args=[self.pk])

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class AccessToken(models.Model):
    """A personal access token for the API and the MCP server: only a hash of its secret is kept.

    Its scope is the person's memories (no project), one project's, or all of the owner's.
    """

    class Scope(models.TextChoices):
        PERSON = "person"
        PROJECT = "project"
        ALL = "all"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_tokens"
    )
    name = models.CharField(max_length=100)
    # The first characters of the secret, shown so the owner can tell tokens apart.
    prefix = models.CharField(max_length=16)
    secret_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.PERSON)
    project = models.ForeignKey(
        "chat.Project", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    can_write = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scope="project", project__isnull=False)
                | (~models.Q(scope="project") & models.Q(project__isnull=True)),
                name="access_token_project_iff_project_scope",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def get_absolute_url(self) -> str:
        return reverse("memories:token", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and (
            self.expires_at is None or self.expires_at > timezone.now()
        )


class ApiCall(models.Model):
    """One read or write of memories through the API or the MCP server, for the owner to see."""

    token = models.ForeignKey(AccessToken, on_delete=models.CASCADE, related_name="calls")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # "GET /api/v1/memories/search" or "mcp:search_memories".
    endpoint = models.CharField(max_length=100)
    wrote = models.BooleanField(default=False)
    memories = models.ManyToManyField(Memory, related_name="api_calls", blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["token", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.endpoint} by {self.token_id}"
