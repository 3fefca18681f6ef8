"""Request types for views: what django-htmx's middleware and login_required add to a request."""

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from accounts.models import User


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


class AuthenticatedHttpRequest(HtmxHttpRequest):
    """The request of a login_required view: its user is a signed-in account."""

    user: User
