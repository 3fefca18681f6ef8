import pytest

from chat.models import Message
from tests.websocket import frames_until_final, send_chat


@pytest.mark.django_db(transaction=True)
async def test_offline_model_streams_an_answer(connect, conversation, user):
    socket = await connect(conversation.pk, user)
    connected, _ = await socket.connect()
    assert connected
    await send_chat(socket, "I prefer green tea for breakfast")
    frames = [frame async for frame in frames_until_final(socket)]
    await socket.disconnect()
    assert "Offline demo model" in "".join(frames)
    answer = await Message.objects.filter(role="assistant").aget()
    assert answer.status == Message.Status.COMPLETE
