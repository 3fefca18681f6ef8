"""Projects, their conversations, the conversations' messages and the tool calls of answers."""

import json
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse

if TYPE_CHECKING:
    from accounts.models import User

PROJECT_NAME_MAX_LENGTH = 100
PROJECT_INSTRUCTIONS_MAX_LENGTH = 4000


class ProjectQuerySet(models.QuerySet):
    def owned_by(self, owner: "User") -> "ProjectQuerySet":
        return self.filter(owner=owner)


class Project(models.Model):
    """A piece of work the owner chats about over many conversations: a project or a ticket."""

    class Kind(models.TextChoices):
        PROJECT = "project", "Project"
        TICKET = "ticket", "Ticket"

    class MemoryMode(models.TextChoices):
        SHARED = "shared", "Shared: also reads and writes your personal memories"
        PROJECT_ONLY = "project_only", "Project only: keeps to this project's memories"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="projects"
    )
    name = models.CharField(max_length=PROJECT_NAME_MAX_LENGTH)
    instructions = models.TextField(blank=True, max_length=PROJECT_INSTRUCTIONS_MAX_LENGTH)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.PROJECT)
    # Only tickets are opened and closed; a plain project stays open.
    is_closed = models.BooleanField(default=False)
    is_archived = models.BooleanField(default=False)
    memory_mode = models.CharField(
        max_length=16, choices=MemoryMode.choices, default=MemoryMode.SHARED
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = [Lower("name"), "id"]
        constraints = [
            models.UniqueConstraint(
                "owner", Lower("name"), name="chat_project_name_unique_per_owner"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("chat:project", args=[self.pk])

    @property
    def is_ticket(self) -> bool:
        return self.kind == self.Kind.TICKET


class Conversation(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations"
    )
    title = models.CharField(max_length=200, default="New chat")
    # Deleting a project deletes its chats: its confirmation page lists them.
    project = models.ForeignKey(
        Project,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="conversations",
    )
    # A temporary conversation neither reads nor writes memories.
    is_temporary = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["owner", "-updated_at"])]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("chat:conversation", args=[self.pk])


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user"
        ASSISTANT = "assistant"

    class Status(models.TextChoices):
        COMPLETE = "complete"
        STREAMING = "streaming"
        INCOMPLETE = "incomplete"
        # Ended by the person: what arrived before they pressed Stop is the answer.
        STOPPED = "stopped"
        ERROR = "error"

    class Via(models.TextChoices):
        TEXT = "text"
        VOICE = "voice"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    content = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.COMPLETE)
    # Spoken turns: the user's transcript, and the answer as it was said aloud.
    via = models.CharField(max_length=8, choices=Via.choices, default=Via.TEXT)
    error = models.TextField(blank=True)
    upstream_response_id = models.CharField(max_length=200, blank=True)
    model_name = models.CharField(max_length=200, blank=True)
    input_tokens = models.PositiveIntegerField(null=True, blank=True)
    output_tokens = models.PositiveIntegerField(null=True, blank=True)
    time_to_first_token_ms = models.FloatField(null=True, blank=True)
    # Regenerating an answer or editing a message makes a new version of it: every later version
    # points to the first, and each one replaced stays, out of the conversation, as an earlier one.
    first_version = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="later_versions"
    )
    is_replaced = models.BooleanField(default=False)
    # While it streams: renewed by the process streaming it (chat.runner), which is gone once
    # this has passed.
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["conversation", "created_at"])]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:60]}"

    @property
    def dom_id(self) -> str:
        return f"message-{self.pk}"

    @property
    def spoken(self) -> bool:
        """Said aloud in a voice session (the user's transcript, or the answer as spoken)."""
        return self.via == self.Via.VOICE

    def earlier_versions(self) -> list["Message"]:
        """The versions this message replaced, oldest first (none for a message never redone)."""
        if self.first_version_id is None:
            return []
        return list(
            Message.objects.filter(
                models.Q(pk=self.first_version_id) | models.Q(first_version=self.first_version_id),
                pk__lt=self.pk,
            ).order_by("pk")
        )


class ToolCall(models.Model):
    """One tool the model ran while writing an answer, kept so later turns know what was done."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="tool_calls")
    name = models.CharField(max_length=200)
    arguments = models.JSONField(default=dict, blank=True)
    output = models.TextField(blank=True)
    is_error = models.BooleanField(default=False)
    duration_ms = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def arguments_json(self) -> str:
        return json.dumps(self.arguments, ensure_ascii=False)
