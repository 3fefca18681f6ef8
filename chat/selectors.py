"""Reads of projects, the sidebar and a conversation's messages, each scoped to an owner."""

from dataclasses import dataclass

from django.http import Http404

from accounts.models import User
from chat.models import Conversation, Message, Project


@dataclass(frozen=True)
class ProjectGroup:
    project: Project
    conversations: list[Conversation]


@dataclass(frozen=True)
class Sidebar:
    """The owner's chats as the sidebar lists them: by project, then those in none."""

    groups: list[ProjectGroup]
    loose_conversations: list[Conversation]
    archived_projects: list[Project]


def get_project(owner: User, project_id: int) -> Project:
    """The owner's project, or Http404 whether it is missing or someone else's."""
    try:
        return Project.objects.owned_by(owner).get(pk=project_id)
    except (Project.DoesNotExist, ValueError, TypeError):
        raise Http404("No such project.") from None


def conversations_in(project: Project) -> list[Conversation]:
    return list(project.conversations.all())


def sidebar_of(owner: User) -> Sidebar:
    projects = list(Project.objects.owned_by(owner))
    by_project: dict[int | None, list[Conversation]] = {}
    for conversation in Conversation.objects.filter(owner=owner):
        by_project.setdefault(conversation.project_id, []).append(conversation)
    return Sidebar(
        groups=[
            ProjectGroup(project, by_project.get(project.pk, []))
            for project in projects
            if not project.is_archived
        ],
        loose_conversations=by_project.get(None, []),
        archived_projects=[project for project in projects if project.is_archived],
    )


def messages_with_tool_calls(conversation: Conversation) -> list[Message]:
    return list(conversation.messages.filter(is_replaced=False).prefetch_related("tool_calls"))


def project_instructions(conversation: Conversation) -> str:
    """The owner's instructions for the conversation's project, worded for the model, or "".

    Read afresh on every turn: the chat may have moved, or the instructions changed, since the
    socket opened.
    """
    project = Project.objects.filter(conversations=conversation).first()
    if project is None or not project.instructions:
        return ""
    return (
        f"\n\nThis chat belongs to the user's project “{project.name}”. The user wrote these "
        "instructions for the project; follow them in this chat:\n"
        f"<project_instructions>\n{project.instructions}\n</project_instructions>"
    )


def ended_answers(conversation: Conversation, answer_ids: list[int]) -> list[Message]:
    """Those of `answer_ids` that are answers in `conversation` and no longer streaming."""
    return list(
        conversation.messages.filter(pk__in=answer_ids, role=Message.Role.ASSISTANT)
        .exclude(status=Message.Status.STREAMING)
        .order_by("pk")
    )
