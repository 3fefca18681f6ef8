"""Settings, read from the environment (and an optional .env file) with django-environ."""

import os
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

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
    "accounts",
    "chat",
    "memories",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
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

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "chat:home"
LOGOUT_REDIRECT_URL = "login"

REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
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
STATIC_ROOT = BASE_DIR / "staticfiles"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads it to send X-CSRFToken on its requests
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=False)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# The upstream model. With neither a key nor a base URL the built-in offline model answers.
OPENAI_API_KEY = env("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env("OPENAI_BASE_URL", default="")
OPENAI_MODEL = env("OPENAI_MODEL", default="gpt-4.1-mini")
OPENAI_TIMEOUT_SECONDS = env.float("OPENAI_TIMEOUT_SECONDS", default=60.0)
CHAT_HISTORY_TURNS = env.int("CHAT_HISTORY_TURNS", default=12)
CHAT_MAX_MESSAGE_CHARS = env.int("CHAT_MAX_MESSAGE_CHARS", default=8000)
CHAT_TOOL_ROUNDS = env.int("CHAT_TOOL_ROUNDS", default=4)
# At most this many HTML swaps a second reach the browser while a reply streams.
CHAT_STREAM_FLUSH_SECONDS = env.float("CHAT_STREAM_FLUSH_SECONDS", default=0.05)
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
MEMORY_EMBEDDER = env("MEMORY_EMBEDDER", default="minilm")
MEMORY_CONTEXT_LIMIT = env.int("MEMORY_CONTEXT_LIMIT", default=6)
MEMORY_CONTEXT_TOKEN_BUDGET = env.int("MEMORY_CONTEXT_TOKEN_BUDGET", default=400)
MEMORY_EXTRACTION_ATTEMPTS = env.int("MEMORY_EXTRACTION_ATTEMPTS", default=5)
# How long a deleted memory can still be brought back before it is purged for good.
MEMORY_UNDO_DAYS = env.int("MEMORY_UNDO_DAYS", default=7)
MEMORY_STALE_AFTER_DAYS = env.dict(
    "MEMORY_STALE_AFTER_DAYS",
    cast={"value": int},
    default={"preference": 365, "profile": 365, "task": 30, "tool_result": 14, "other": 180},
)
MEM0_DIR = Path(env("MEM0_DIR", default=str(DATA_DIR / "mem0")))
os.environ.setdefault("MEM0_DIR", str(MEM0_DIR))
os.environ.setdefault("MEM0_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # mem0 and the HTTP clients log prompts and URLs at INFO; a user's words must not reach
        # the logs. The openai SDK sends through httpx2, mem0's other clients through httpx.
        "mem0": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},
        "openai": {"level": "WARNING"},
        # runserver's access log has a handler of its own; without this each line shows twice.
        "django.channels.server": {"level": "INFO", "propagate": False},
        "sentence_transformers": {"level": "WARNING"},
    },
}
