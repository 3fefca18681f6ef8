"""The ASGI entry point: HTTP goes to Django (/mcp to the MCP server), websockets to the chat."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs the app registry loaded)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

import chat.routing  # noqa: E402
from api.mcp_server import with_mcp  # noqa: E402
from config import task_workers  # noqa: E402
from config.request_size import RequestSizeLimit  # noqa: E402
from config.websocket_origins import SameOriginValidator  # noqa: E402
from memories import embeddings  # noqa: E402

# Load the embedding model now, off the event loop, rather than on the first user's turn. The
# speech models wait for this process's first voice session (chat/voice/offline.py): most
# processes serve typed chats only, and the models are 180 MB of RSS loaded, more in use.
embeddings.warm_up_in_background()
task_workers.start_unless_scaled_out()

application = ProtocolTypeRouter(
    {
        "http": with_mcp(RequestSizeLimit(django_asgi_app)),
        "websocket": SameOriginValidator(
            AuthMiddlewareStack(URLRouter(chat.routing.websocket_urlpatterns))
        ),
    }
)

# What is loaded by now (Django, the apps, their libraries) lives as long as the process: kept out
# of the garbage collector's full passes, which otherwise walk all of it again every few hundred
# thousand allocations and paused streaming answers for up to 0.4 s (bench/throughput.py).
gc.freeze()
