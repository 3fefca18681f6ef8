"""Forms of the memory dashboard: they check input and hand plain values to the services."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from chat.models import Project
from memories import exports, selectors
from memories.models import Memory, MemoryKind
from memories.scopes import EVERYWHERE, PERSON, Scopes

if TYPE_CHECKING:
    from accounts.models import User

DELETE_ALL_CONFIRMATION = "DELETE"
# The scope choice that means the person's memories (a project is named by its id).
PERSON_CHOICE = "person"


class DateInput(forms.DateInput):
    input_type = "date"


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class TagsField(forms.CharField):
    """Comma-separated tags in, a list out."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "Comma-separated, for example: work, travel")
        super().__init__(**kwargs)

    def prepare_value(self, value: list[str] | str | None) -> str | None:
        if isinstance(value, list):
            return ", ".join(value)
        return value

    def clean(self, value: str | None) -> list[str]:
        # CharField's checks (NUL characters among them) run on the text as typed, then it splits.
        text = super().clean(value)
        return [tag.strip() for tag in text.split(",") if tag.strip()]


class MemoryForm(forms.Form):
    """A memory as its owner writes it: by hand, or editing one."""

    text = forms.CharField(
        max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), strip=True, label="Memory"
    )
    kind = forms.ChoiceField(choices=MemoryKind.choices, initial=MemoryKind.OTHER)
    tags = TagsField()
    expires_at = forms.DateTimeField(
        required=False,
        widget=DateTimeInput(),
        label="Expires",
        help_text="Optional. Forgotten for good after this moment.",
    )

    @classmethod
    def for_memory(cls, memory: Memory, **kwargs: Any) -> MemoryForm:
        initial = {
            "text": memory.text,
            "kind": memory.kind,
            "tags": memory.tags,
            "expires_at": memory.expires_at,
        }
        return cls(initial=initial, auto_id=f"memory-{memory.pk}-%s", **kwargs)

    def clean_expires_at(self) -> datetime | None:
        expires_at = self.cleaned_data["expires_at"]
        if expires_at is not None and expires_at <= timezone.now():
            raise ValidationError("Choose a moment in the future, or leave it empty.")
        return expires_at


class MemoryFilterForm(forms.Form):
    """The dashboard list's search, filters and sort order, read from the query string."""

    search = forms.CharField(
        required=False,
        label="Search by meaning",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "e.g. what I eat"}),
    )
    contains = forms.CharField(
        required=False,
        label="Text contains",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "exact words"}),
    )
    kind = forms.ChoiceField(choices=[("", "All kinds"), *MemoryKind.choices], required=False)
    tag = forms.ChoiceField(required=False, label="Scope tag")
    scope = forms.ChoiceField(required=False, label="Scope")
    conversation = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="All conversations", label="Learned in"
    )
    created_from = forms.DateField(required=False, widget=DateInput(), label="Added from")
    created_to = forms.DateField(required=False, widget=DateInput(), label="Added until")
    include_superseded = forms.BooleanField(required=False, label="Show superseded")
    include_expired = forms.BooleanField(required=False, label="Show expired")
    ordering = forms.ChoiceField(
        choices=[
            ("", "Best match / newest"),
            ("newest", "Newest"),
            ("last_used", "Last used"),
            ("most_used", "Most used"),
        ],
        required=False,
        label="Sort by",
    )

    def __init__(self, owner: User, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "filter-%s")
        super().__init__(*args, **kwargs)
        self.fields["tag"].choices = [("", "All tags")] + [
            (tag, tag) for tag in selectors.tags_of(owner)
        ]
        self.fields["conversation"].queryset = selectors.source_conversations_of(owner)
        self.fields["scope"].choices = [
            ("", "Everywhere"),
            (PERSON_CHOICE, "Personal"),
            *_project_choices(owner),
        ]

    def filters(self) -> selectors.MemoryFilters:
        """The valid filters; an invalid one (say, a tag since removed) is left out."""
        self.is_valid()
        values = {name: value for name, value in self.cleaned_data.items() if value}
        conversation = values.pop("conversation", None)
        scope = values.pop("scope", "")
        return selectors.MemoryFilters(
            **values,
            conversation_id=conversation.pk if conversation else None,
            scopes=_scopes_named(scope),
        )


def _project_choices(owner: User) -> list[tuple[str, str]]:
    return [
        (str(project.pk), f"Project: {project.name}") for project in selectors.projects_of(owner)
    ]


def _scopes_named(choice: str) -> Scopes:
    if not choice:
        return EVERYWHERE
    return Scopes.of(PERSON if choice == PERSON_CHOICE else int(choice))


class MemoryScopeForm(forms.Form):
    """Where a memory is kept: the person ("person") or one of the owner's projects (its id)."""

    # Not a ChoiceField: any project id passes the form, and the lookup by owner (project())
    # answers another account's id with the same 404 as one that does not exist.
    scope = forms.CharField(label="Keep it for", widget=forms.Select)

    def __init__(self, owner: User, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "scope-%s")
        super().__init__(*args, **kwargs)
        self.owner = owner
        self.fields["scope"].widget.choices = [
            (PERSON_CHOICE, "Me, in every chat"),
            *_project_choices(owner),
        ]

    def clean_scope(self) -> str:
        choice = self.cleaned_data["scope"]
        if choice != PERSON_CHOICE and not choice.isdigit():
            raise ValidationError("Choose yourself or one of your projects.")
        return choice

    def project(self) -> Project | None:
        """The chosen project, looked up by its owner (a 404 for anyone else's)."""
        choice = self.cleaned_data["scope"]
        return None if choice == PERSON_CHOICE else selectors.get_project(self.owner, choice)


class MemoryIdsField(forms.Field):
    """Memory ids sent as repeated form fields (the list's checkboxes)."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": "Select at least one memory.",
        "invalid": "That selection is not valid; reload the page and try again.",
    }

    def to_python(self, value: list[str] | None) -> list[uuid.UUID]:
        try:
            return [uuid.UUID(str(item)) for item in value or []]
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class MemorySelectionForm(forms.Form):
    ids = MemoryIdsField()


class MemorySettingsForm(forms.Form):
    paused = forms.BooleanField(
        required=False,
        label="Pause memory",
        help_text="Nothing is remembered or recalled until you switch this off.",
    )
    require_approval = forms.BooleanField(
        required=False,
        label="Approve before saving",
        help_text="New memories wait for you in the chat and here, and are never used before.",
    )


class ApproveForm(forms.Form):
    """Saving a pending memory, optionally with its text corrected."""

    text = forms.CharField(
        max_length=2000, required=False, strip=True, widget=forms.Textarea(attrs={"rows": 2})
    )


class PreviewForm(forms.Form):
    message = forms.CharField(
        max_length=8000,
        label="Message",
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Type a message to the agent"}),
    )


class ImportForm(forms.Form):
    file = forms.FileField(
        label="Export file (JSON)", widget=forms.ClearableFileInput(attrs={"accept": ".json"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = (
            f"At most {settings.MEMORY_IMPORT_MAX_BYTES // (1024 * 1024)} MB "
            f"and {settings.MEMORY_IMPORT_MAX_ENTRIES:,} memories."
        )

    def clean_file(self) -> str:
        """The export's text, once it reads as one (its entries are checked by the import)."""
        upload = self.cleaned_data["file"]
        # Checked on the stored upload's size, before a byte of it is read into memory.
        if upload.size > settings.MEMORY_IMPORT_MAX_BYTES:
            raise ValidationError(
                f"The file is larger than {settings.MEMORY_IMPORT_MAX_BYTES // (1024 * 1024)} MB."
            )
        content = upload.read()
        try:
            exports.read_export_file(content)
        except exports.InvalidExport as error:
            raise ValidationError(str(error)) from None
        return content.decode("utf-8")


class DeleteAllForm(forms.Form):
    confirmation = forms.CharField(
        label=f"Type {DELETE_ALL_CONFIRMATION} to confirm",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def clean_confirmation(self) -> str:
        confirmation = self.cleaned_data["confirmation"]
        if confirmation.strip() != DELETE_ALL_CONFIRMATION:
            raise ValidationError(f"Type {DELETE_ALL_CONFIRMATION} in capitals to confirm.")
        return confirmation


class TokenForm(forms.Form):
    """A new access token: its name, what it may reach, whether it may write, when it expires."""

    name = forms.CharField(max_length=100, help_text="Where you will use it, e.g. “laptop agent”.")
    scope = forms.ChoiceField(label="Memories it reaches")
    can_write = forms.BooleanField(
        required=False, label="May add, change and delete memories (read only otherwise)"
    )
    expires_at = forms.DateTimeField(
        required=False,
        widget=DateTimeInput(),
        help_text="Leave empty for a token that never expires.",
    )

    def __init__(self, *args: Any, owner: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.projects = {str(project.pk): project for project in owner.projects.all()}
        self.fields["scope"].choices = [
            ("person", "Only about me (no project)"),
            ("all", "All of my memories"),
            *[(f"project:{pk}", f"Project: {p.name}") for pk, p in self.projects.items()],
        ]

    def clean_expires_at(self) -> datetime | None:
        expires_at = self.cleaned_data["expires_at"]
        if expires_at is not None and expires_at <= timezone.now():
            raise ValidationError("Pick a time in the future.")
        return expires_at

    def token_options(self) -> dict[str, Any]:
        """The cleaned values as create_token takes them."""
        scope, _, project_id = self.cleaned_data["scope"].partition(":")
        return {
            "scope": scope,
            "project": self.projects.get(project_id),
            "can_write": self.cleaned_data["can_write"],
            "expires_at": self.cleaned_data["expires_at"],
        }
