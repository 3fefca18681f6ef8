"""Issue 8 item 3: the chat socket opens only from the page's own origin or a trusted one."""

import pytest
from channels.testing import WebsocketCommunicator

pytestmark = pytest.mark.django_db(transaction=True)


async def handshake(host: str, origin: str, scheme: str = "ws") -> bool:
    """Whether a socket opened with these Host and Origin headers gets past the handshake."""
    from config.asgi import application

    socket = WebsocketCommunicator(
        application,
        "/ws/chat/1/",
        headers=[(b"host", host.encode()), (b"origin", origin.encode())],
    )
    # The scheme the connection came in with (ws, or wss through TLS), as Daphne reports it.
    socket.scope["scheme"] = scheme
    connected, _ = await socket.connect(timeout=10)
    await socket.disconnect()
    return connected


@pytest.mark.parametrize(
    ("host", "origin", "scheme"),
    [
        ("127.0.0.1:8000", "http://127.0.0.1:9999", "ws"),
        ("127.0.0.1", "https://127.0.0.1", "ws"),
        ("127.0.0.1:8000", "https://127.0.0.1:8000", "ws"),
        ("localhost", "http://localhost", "wss"),
        ("127.0.0.1:8000", "http://localhost:8000", "ws"),
    ],
)
async def test_item3_origin_with_another_scheme_host_or_port_is_refused(host, origin, scheme):
    assert not await handshake(host, origin, scheme)


async def test_item3_trusted_origins_are_matched_by_scheme_host_and_port(settings):
    # Behind a TLS proxy: the browser's origin differs from what reaches Daphne.
    settings.CSRF_TRUSTED_ORIGINS = ["https://chat.example.com", "https://*.example.org"]

    assert await handshake("127.0.0.1:8000", "https://chat.example.com")
    assert await handshake("127.0.0.1:8000", "https://eu.example.org")
    assert not await handshake("127.0.0.1:8000", "http://chat.example.com")
    assert not await handshake("127.0.0.1:8000", "https://chat.example.com:8443")
    assert not await handshake("127.0.0.1:8000", "https://example.com")
