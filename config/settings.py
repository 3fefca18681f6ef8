"""Settings, read from the environment (and an optional .env file) with django-environ."""

import os
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


class _SetVariables(Mapping[str, str]):
    """The environment without its empty variables: `NAME=` means "the default", as if unset.

    .env.example lists every setting, many of them empty; copied as .env it must just work.
    """

    def __getitem__(self, name: str) -> str:
        value = os.environ[name]
        if value == "":
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        return (name for name, value in os.environ.items() if value != "")

    def __len__(self) -> int:
        return sum(1 for _ in self)


environ.Env.read_env(BASE_DIR / ".env")
env = environ.Env()
env.ENVIRON = _SetVariables()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env(
    "SECRET_KEY", default="insecure-dev-key-only-for-debug" if DEBUG else environ.Env.NOTSET
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Runtime files of the embedded default (SQLite database, mem0's scratch folder).
DATA_DIR = Path(env("DATA_DIR", default=str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "csp",
    # Only for its bundled Swagger UI files: the API docs load nothing from a CDN.
    "ninja",
    "accounts",
    "chat",
    "memories",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "api.middleware.JsonErrorsMiddleware",
    # Static files from the app itself when no proxy serves them (one Daphne process, DEBUG off).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "chat.context_processors.model_info",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web process and the task worker write at the same time: WAL lets readers go on
    # while one writes, IMMEDIATE takes the write lock up front instead of failing mid-transaction.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
# Opening a connection (and, on SQLite, running the pragmas above) costs more than most queries
# here, and a websocket turn makes several trips to the database: keep connections a while.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Threads per web process for chat turns' queries and rendering (chat.turn_threads), each with
# its own connection. 0: all of it on Channels' one thread. SQLite lets one writer in at a time,
# so there it stays 0; on PostgreSQL, turns running side by side keep one turn's queries from
# waiting behind every other turn's.
_SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
CHAT_TURN_THREADS = env.int("CHAT_TURN_THREADS", default=0 if _SQLITE else 8)
if _SQLITE and CHAT_TURN_THREADS:
    raise ImproperlyConfigured("CHAT_TURN_THREADS must be 0 with SQLite: it allows one writer.")

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First, so a locked-out account or address is refused before its password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "chat:home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (django-axes, counting in the database so every web process sees the same
# failures): this many wrong passwords lock the account, and separately the address, for the
# cool-off period. A failure while locked does not extend it, so the owner can always get back in.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
LOGIN_COOLOFF_MINUTES = env.int("LOGIN_COOLOFF_MINUTES", default=15)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "accounts.throttling.login_locked_out"
# Successful logins are not worth a row per login that outlives the account.
AXES_DISABLE_ACCESS_LOG = True

REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # Redis pub/sub: a group_send is one PUBLISH, and each process holds one subscribed
            # connection that hands messages to its own sockets, instead of a list per process
            # that every message is pushed to and popped from (channels_redis.core: several
            # round trips a frame, and frames past its `capacity` dropped).
            # redis-py 8 gives up reading after 5 s by default; a longer read timeout still
            # notices a Redis that stopped answering.
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 15}]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# The cache holds cross-process locks (one voice session per user): shared when Redis is.
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }

TASKS = {
    "default": {
        "BACKEND": env("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend"),
    }
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Compressed copies made by collectstatic; WhiteNoise serves them with long cache headers.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads it to send X-CSRFToken on its requests
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Served over HTTPS (behind a proxy: run Daphne with --proxy-headers so requests know it).
SECURE_COOKIES = env.bool("SECURE_COOKIES", default=False) and not DEBUG
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
# Then browsers are told to use nothing but HTTPS here for a year.
SECURE_HSTS_SECONDS = 365 * 24 * 3600 if SECURE_COOKIES else 0
# Scripts, styles and everything else come from our own static files: no inline code, no eval
# (the templates use none; htmx and its websocket extension need none). 'self' in connect-src
# also covers the chat's ws:/wss: socket on the same host (CSP Level 3).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# The upstream model. With neither a key nor a base URL the built-in offline model answers.
OPENAI_API_KEY = env("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env("OPENAI_BASE_URL", default="")
OPENAI_MODEL = env("OPENAI_MODEL", default="gpt-4.1-mini")
OPENAI_TIMEOUT_SECONDS = env.float("OPENAI_TIMEOUT_SECONDS", default=60.0)
CHAT_HISTORY_TURNS = env.int("CHAT_HISTORY_TURNS", default=12)
CHAT_HISTORY_TOKENS = env.int("CHAT_HISTORY_TOKENS", default=4000)
CHAT_MAX_MESSAGE_CHARS = env.int("CHAT_MAX_MESSAGE_CHARS", default=8000)
# An answer is cut here. Escaped as HTML, a character takes up to 6 bytes of the final
# websocket frame, and Daphne drops frames over 1 MiB: keep it well under 150,000.
CHAT_MAX_ANSWER_CHARS = env.int("CHAT_MAX_ANSWER_CHARS", default=60_000)
# Turns one user may start in any minute, over all their conversations; more are saved, not sent.
CHAT_TURNS_PER_MINUTE = env.int("CHAT_TURNS_PER_MINUTE", default=20)
CHAT_TOOL_ROUNDS = env.int("CHAT_TOOL_ROUNDS", default=4)
# At most this many HTML swaps a second reach the browser while a reply streams.
CHAT_STREAM_FLUSH_SECONDS = env.float("CHAT_STREAM_FLUSH_SECONDS", default=0.05)
# The process streaming an answer renews its lease every third of this; once it has lapsed (the
# process died), any process marks the answer interrupted.
CHAT_ANSWER_LEASE_SECONDS = env.float("CHAT_ANSWER_LEASE_SECONDS", default=10.0)
# Pace of the offline demo model, so its answer visibly streams.
OFFLINE_MODEL_TOKEN_DELAY_SECONDS = env.float("OFFLINE_MODEL_TOKEN_DELAY_SECONDS", default=0.03)

# Voice conversations (offline engine: faster-whisper tiny.en, webrtcvad and Piper).
VOICE_ENABLED = env.bool("VOICE_ENABLED", default=True)
# "auto": the OpenAI Realtime API when a key or base URL is set, else offline; or either by name.
VOICE_ENGINE = env("VOICE_ENGINE", default="auto")
OPENAI_REALTIME_MODEL = env("OPENAI_REALTIME_MODEL", default="gpt-realtime")
# The Realtime websocket's base URL (ws:// or wss://), when not OPENAI_BASE_URL's.
OPENAI_REALTIME_URL = env("OPENAI_REALTIME_URL", default="")
VOICE_MAX_SESSION_SECONDS = env.float("VOICE_MAX_SESSION_SECONDS", default=900.0)
# A session in which nobody speaks for this long is closed.
VOICE_IDLE_SECONDS = env.float("VOICE_IDLE_SECONDS", default=120.0)
# This much silence after speech ends the user's utterance.
VOICE_END_OF_SPEECH_MS = env.int("VOICE_END_OF_SPEECH_MS", default=600)
VOICE_MAX_UTTERANCE_SECONDS = env.float("VOICE_MAX_UTTERANCE_SECONDS", default=30.0)
# Audio may run ahead of the wall clock by this much (network bursts); more is refused.
VOICE_AUDIO_AHEAD_SECONDS = env.float("VOICE_AUDIO_AHEAD_SECONDS", default=2.0)

# Memory
# Where the embedding model, exported to ONNX on this machine, is kept (memories.embeddings).
MEMORY_EMBEDDING_MODEL_DIR = Path(
    env("MEMORY_EMBEDDING_MODEL_DIR", default=str(DATA_DIR / "models"))
)
MEMORY_CONTEXT_LIMIT = env.int("MEMORY_CONTEXT_LIMIT", default=6)
MEMORY_CONTEXT_TOKEN_BUDGET = env.int("MEMORY_CONTEXT_TOKEN_BUDGET", default=400)
# Tokens for a project chat's state (its task notes and summaries), on top of the recall budget.
MEMORY_PROJECT_CONTEXT_TOKEN_BUDGET = env.int("MEMORY_PROJECT_CONTEXT_TOKEN_BUDGET", default=160)
# A project chat's summary is written after its first turn and again every this many turns.
MEMORY_SUMMARY_EVERY_TURNS = env.int("MEMORY_SUMMARY_EVERY_TURNS", default=3)
MEMORY_EXTRACTION_ATTEMPTS = env.int("MEMORY_EXTRACTION_ATTEMPTS", default=5)
# Longest wait for one model call of an extraction; a hung upstream fails the attempt after it.
MEMORY_EXTRACTION_TIMEOUT_SECONDS = env.float("MEMORY_EXTRACTION_TIMEOUT_SECONDS", default=30.0)
# A worker running an extraction renews its claim on it every third of this; a run whose claim
# has lapsed this long (its worker was killed) is queued again.
MEMORY_EXTRACTION_LEASE_SECONDS = env.float("MEMORY_EXTRACTION_LEASE_SECONDS", default=30.0)
# Largest memory export that can be imported, and most entries in one; an upload over the size
# is refused before it is read (config.request_size), with REQUEST_MAX_BYTES for every request.
MEMORY_IMPORT_MAX_BYTES = env.int("MEMORY_IMPORT_MAX_BYTES", default=5 * 1024 * 1024)
MEMORY_IMPORT_MAX_ENTRIES = env.int("MEMORY_IMPORT_MAX_ENTRIES", default=10_000)
# A running import reports progress after every batch of a few seconds' work; one silent this long
# lost its worker (kill -9, crash) and is queued again, skipping what it had imported.
MEMORY_IMPORT_STALL_SECONDS = env.float("MEMORY_IMPORT_STALL_SECONDS", default=120.0)
# The form's other fields and the multipart framing ride along with the file.
REQUEST_MAX_BYTES = MEMORY_IMPORT_MAX_BYTES + 64 * 1024
# How long a deleted memory can still be brought back before it is purged for good.
MEMORY_UNDO_DAYS = env.int("MEMORY_UNDO_DAYS", default=7)
MEMORY_STALE_AFTER_DAYS = env.dict(
    "MEMORY_STALE_AFTER_DAYS",
    cast={"value": int},
    default={"preference": 365, "profile": 365, "task": 30, "tool_result": 14, "other": 180},
)
# How many owners' search indexes each process keeps in memory (least recently used go first).
MEMORY_INDEX_CACHE_OWNERS = env.int("MEMORY_INDEX_CACHE_OWNERS", default=256)

# The memory API and MCP server: requests per token per minute (counted in the Django cache, so
# per process unless a shared cache is configured), and the largest request body accepted.
API_RATE_LIMIT_PER_MINUTE = env.int("API_RATE_LIMIT_PER_MINUTE", default=120)
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=64 * 1024)
MEM0_DIR = Path(env("MEM0_DIR", default=str(DATA_DIR / "mem0")))
os.environ.setdefault("MEM0_DIR", str(MEM0_DIR))
os.environ.setdefault("MEM0_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Query strings carry what people type into searches; access logs keep the path only.
    "filters": {
        "no_query_strings": {"()": "config.access_log.QueryStringFilter"},
        # While Redis is down: the channel layer's traceback a second, the answers' warning a
        # frame, once a minute each (config/repeated_logs.py). The answers' errors all pass.
        "repeats": {"()": "config.repeated_logs.RepeatsFilter"},
        "repeated_warnings": {
            "()": "config.repeated_logs.RepeatsFilter",
            "max_level": "WARNING",
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # mem0 and the HTTP clients log prompts and URLs at INFO; a user's words must not reach
        # the logs. The openai SDK sends through httpx2, mem0's other clients through httpx.
        "mem0": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},
        "openai": {"level": "WARNING"},
        # runserver's access log (production's Daphne: see config/serve.py).
        "django.channels.server": {
            "level": "INFO",
            "handlers": ["console"],
            "filters": ["no_query_strings"],
            "propagate": False,
        },
        "sentence_transformers": {"level": "WARNING"},
        "channels_redis.pubsub": {"filters": ["repeats"]},
        "chat.runner": {"filters": ["repeated_warnings"]},
        # django-axes says INFO on every login; failures and lockouts come at WARNING.
        "axes": {"level": "WARNING"},
    },
}
