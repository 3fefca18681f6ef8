"""Changes to projects (a user's projects and tickets) and to which project a chat is in."""

from django.db import IntegrityError, transaction

from accounts.models import User
from chat.models import Conversation, Project
from memories import services as memory_services


class ProjectError(Exception):
    """A change to a project that cannot be made; the text says why, for its owner."""


class ProjectNameTaken(ProjectError):
    def __init__(self, name: str) -> None:
        super().__init__(f"You already have a project called “{name}”. Choose another name.")


def create_project(
    owner: User, *, name: str, instructions: str = "", kind: str = Project.Kind.PROJECT
) -> Project:
    project = Project(owner=owner, name=name, instructions=instructions, kind=kind)
    _save_with_unique_name(project)
    return project


def update_project(project: Project, *, name: str, instructions: str, kind: str) -> Project:
    project.name = name
    project.instructions = instructions
    project.kind = kind
    if kind != Project.Kind.TICKET:
        project.is_closed = False
    _save_with_unique_name(project)
    return project


def _save_with_unique_name(project: Project) -> None:
    taken = (
        Project.objects.owned_by(project.owner_id)
        .filter(name__iexact=project.name)
        .exclude(pk=project.pk)
    )
    if taken.exists():
        raise ProjectNameTaken(project.name)
    try:
        # The constraint still decides when two requests race for one name.
        with transaction.atomic():
            project.save()
    except IntegrityError:
        raise ProjectNameTaken(project.name) from None


def set_archived(project: Project, archived: bool) -> Project:
    project.is_archived = archived
    project.save(update_fields=["is_archived", "updated_at"])
    return project


def set_closed(project: Project, closed: bool) -> Project:
    if not project.is_ticket:
        raise ProjectError("Only tickets are closed and reopened; this is a plain project.")
    project.is_closed = closed
    project.save(update_fields=["is_closed", "updated_at"])
    return project


def delete_project(project: Project) -> int:
    """Delete the project, its chats with their messages and its memories; returns how many
    chats went.

    Person-level memories learned in those chats are the person's and stay.
    """
    with transaction.atomic():
        deleted_chats = project.conversations.count()
        memory_services.delete_project_memories(project)
        project.delete()
    return deleted_chats


def start_chat(project: Project) -> Conversation:
    if project.is_archived:
        raise ProjectError("This project is archived: unarchive it to start a chat in it.")
    return Conversation.objects.create(owner_id=project.owner_id, project=project)


def move_conversation(conversation: Conversation, project: Project | None) -> Conversation:
    """Put the chat in `project`, or in no project when it is None."""
    if project is not None and project.owner_id != conversation.owner_id:
        # Views look both up by their owner first; this guards every other caller.
        raise ProjectError("A chat can only move into a project of its own owner.")
    conversation.project = project
    conversation.save(update_fields=["project", "updated_at"])
    return conversation
