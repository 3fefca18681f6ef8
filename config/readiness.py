"""A readiness probe: 200 once this web process can embed without loading the model first."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from memories import embeddings


@never_cache
@require_GET
def ready(request: HttpRequest) -> HttpResponse:
    if embeddings.is_loaded():
        return HttpResponse("ready\n", content_type="text/plain")
    return HttpResponse("warming up\n", content_type="text/plain", status=503)
