"""Personal access tokens: creating, revoking and checking them, what each may see, and its log.

A token's secret is shown once and only its sha256 is stored; a high-entropy secret needs no slow
hash. Every request checks the database, so a revoked or expired token is refused at once in
every process.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from chat.models import Project
from memories.models import AccessToken, ApiCall, Memory
from memories.scopes import EVERYWHERE, PERSON, Scopes

if TYPE_CHECKING:
    from accounts.models import User

SECRET_PREFIX = "rcl_"
# Writing last use on every request would make each read a write; a minute is precise enough.
LAST_USE_PRECISION = timedelta(minutes=1)


class TokenRefused(Exception):
    """No usable token: unknown, revoked or expired. Callers answer 401 and say no more."""


class TokenNotFound(Http404):
    """No token with that id belongs to this owner."""


class InvalidToken(Exception):
    """The token cannot be created as asked; the text says why."""


class ScopeNotAllowed(Exception):
    """A scope this token may not reach; answered as "not found", never as "forbidden"."""


@dataclass(frozen=True)
class NewToken:
    token: AccessToken
    # The only time the secret exists outside the caller's hands.
    secret: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    owner: User,
    name: str,
    *,
    scope: str = AccessToken.Scope.PERSON,
    project: Project | None = None,
    can_write: bool = False,
    expires_at: datetime | None = None,
) -> NewToken:
    name = " ".join(name.split())[:100]
    if not name:
        raise InvalidToken("A token needs a name.")
    if scope not in AccessToken.Scope.values:
        raise InvalidToken(f"Unknown scope {scope!r}.")
    if (scope == AccessToken.Scope.PROJECT) != (project is not None):
        raise InvalidToken("A project token needs a project, and only a project token has one.")
    if project is not None and project.owner_id != owner.pk:
        raise InvalidToken("No such project.")
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidToken("The expiry must be in the future.")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    token = AccessToken.objects.create(
        owner=owner,
        name=name,
        prefix=secret[:12],
        secret_hash=hash_secret(secret),
        scope=scope,
        project=project,
        can_write=can_write,
        expires_at=expires_at,
    )
    return NewToken(token, secret)


def revoke_token(token: AccessToken) -> AccessToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def authenticate(secret: str) -> AccessToken:
    """The live token with this secret, its last use noted; TokenRefused otherwise."""
    if not secret.startswith(SECRET_PREFIX):
        raise TokenRefused
    now = timezone.now()
    token = (
        AccessToken.objects.select_related("owner")
        .filter(secret_hash=hash_secret(secret), revoked_at__isnull=True, owner__is_active=True)
        .first()
    )
    if token is None or (token.expires_at is not None and token.expires_at <= now):
        raise TokenRefused
    if token.last_used_at is None or token.last_used_at < now - LAST_USE_PRECISION:
        AccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


# --- what a token may see and where it writes ---------------------------------------------------


def readable_scopes(token: AccessToken) -> Scopes:
    if token.scope == AccessToken.Scope.ALL:
        return EVERYWHERE
    if token.scope == AccessToken.Scope.PROJECT:
        return Scopes.of(token.project_id)
    return Scopes.of(PERSON)


def scope_named(token: AccessToken, name: str) -> int | None:
    """The project id (PERSON for the person) that a scope name ("person", "project:<id>")
    means for this token; "" means the token's own. ScopeNotAllowed outside the token's reach."""
    if not name:
        return token.project_id
    if name == "person":
        project_id = PERSON
    elif name.startswith("project:") and name.removeprefix("project:").isdigit():
        project_id = int(name.removeprefix("project:"))
    else:
        raise ScopeNotAllowed(name)
    if not readable_scopes(token).allows(project_id):
        raise ScopeNotAllowed(name)
    if (
        project_id is not None
        and not Project.objects.owned_by(token.owner).filter(pk=project_id).exists()
    ):
        raise ScopeNotAllowed(name)
    return project_id


def scope_name(project_id: int | None) -> str:
    return "person" if project_id is None else f"project:{project_id}"


# --- the log ---------------------------------------------------------------------------------


def record_call(
    token: AccessToken, endpoint: str, memories: Iterable[Memory], *, wrote: bool = False
) -> ApiCall:
    with transaction.atomic():
        call = ApiCall.objects.create(
            token=token, owner_id=token.owner_id, endpoint=endpoint, wrote=wrote
        )
        call.memories.set(list(memories))
    return call


# --- reads -----------------------------------------------------------------------------------


def tokens_of(owner: User) -> QuerySet[AccessToken]:
    return AccessToken.objects.filter(owner=owner).select_related("project")


def get_token(owner: User, token_id: int | str) -> AccessToken:
    try:
        return tokens_of(owner).get(pk=token_id)
    except (AccessToken.DoesNotExist, ValueError, TypeError):
        raise TokenNotFound("No such token.") from None


def calls_of_token(token: AccessToken, *, limit: int = 50) -> list[ApiCall]:
    return list(token.calls.prefetch_related("memories")[:limit])


def calls_of_memory(owner: User, memory: Memory, *, limit: int = 50) -> list[ApiCall]:
    return list(memory.api_calls.filter(owner=owner).select_related("token")[:limit])
