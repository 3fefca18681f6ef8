import sys

from django.apps import AppConfig


class MemoriesConfig(AppConfig):
    name = "memories"

    def ready(self) -> None:
        # The worker embeds on its first job: load the model as it starts, not while a user
        # waits for their first memory. (The web process warms up in config/asgi.py.)
        if sys.argv[1:2] in (["run_worker"], ["db_worker"]):
            from memories import embeddings

            embeddings.warm_up_in_background()
