"""The page django-axes shows a locked-out login: the login form again, with the reason."""

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def login_locked_out(request: HttpRequest, *_axes_arguments: object) -> HttpResponse:
    """The login page again, saying why it refuses and for how long."""
    minutes = settings.LOGIN_COOLOFF_MINUTES
    context = {
        "form": AuthenticationForm(request),
        "next": request.POST.get("next", ""),
        "locked_out_message": (
            "Too many failed logins for this account or from your address. "
            f"Wait {minutes} minutes, then log in again."
        ),
    }
    return render(request, "registration/login.html", context, status=429)
