from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"

    def ready(self) -> None:
        from chat import memory_notices
        from memories.signals import extraction_finished

        extraction_finished.connect(memory_notices.announce_extraction)
