"""Forms of the chat pages: they check input and hand plain values to chat.projects."""

from django import forms

from chat.models import PROJECT_INSTRUCTIONS_MAX_LENGTH, PROJECT_NAME_MAX_LENGTH, Project


class ProjectForm(forms.Form):
    name = forms.CharField(
        max_length=PROJECT_NAME_MAX_LENGTH,
        error_messages={
            "required": "Give the project a name.",
            "max_length": "A project name can be at most %(limit_value)d characters long "
            "(this one has %(show_value)d).",
        },
    )
    instructions = forms.CharField(
        required=False,
        max_length=PROJECT_INSTRUCTIONS_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Optional. The assistant follows them in every chat of this project.",
        error_messages={
            "max_length": "Instructions can be at most %(limit_value)d characters long "
            "(these have %(show_value)d)."
        },
    )
    kind = forms.ChoiceField(
        choices=Project.Kind.choices,
        initial=Project.Kind.PROJECT,
        help_text="A ticket can be closed when its work is done, and reopened.",
    )

    @classmethod
    def for_project(cls, project: Project, data: dict | None = None) -> "ProjectForm":
        initial = {"name": project.name, "instructions": project.instructions, "kind": project.kind}
        return cls(data, initial=initial)

    def clean_name(self) -> str:
        return " ".join(self.cleaned_data["name"].split())
