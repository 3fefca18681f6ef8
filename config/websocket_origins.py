"""Which pages may open our websockets: the check browsers leave to the server (no CORS there)."""

from urllib.parse import urlparse

from asgiref.typing import ASGIApplication, ASGIReceiveCallable, ASGISendCallable, Scope
from channels.security.websocket import OriginValidator, WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host


class SameOriginValidator:
    """Let a websocket in only from the site's own origin or one of CSRF_TRUSTED_ORIGINS.

    As Django's CSRF check does for forms, the whole origin counts: scheme, host and port. The
    site's own origin is the one the connection came in on (its scheme and Host header), when
    that host is in ALLOWED_HOSTS.
    """

    def __init__(self, application: ASGIApplication) -> None:
        self.application = application

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if origin_allowed(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)


def origin_allowed(scope: Scope) -> bool:
    headers = dict(scope.get("headers", []))
    if b"origin" not in headers:
        return False
    origin = urlparse(headers[b"origin"].decode("latin1").lower())
    # Channels' matcher compares scheme, host and port (default ports included); Django spells
    # a trusted subdomain wildcard "https://*.example.com", Channels "https://.example.com".
    allowed = [trusted.replace("://*.", "://.") for trusted in settings.CSRF_TRUSTED_ORIGINS]
    own = own_origin(scope, headers.get(b"host", b"").decode("latin1"))
    if own:
        allowed.append(own)
    return OriginValidator(None, allowed).valid_origin(origin)


def own_origin(scope: Scope, host: str) -> str | None:
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    scheme = "https" if scope.get("scheme") == "wss" else "http"
    return f"{scheme}://{host}"
