"""Darkroom's settings: one module, everything that varies per deployment read from the environment.

Every variable is listed with its default in `.env.example` and README.md. A `.env` file in the
project folder is read first (real environment variables win), which is how `make run` keeps the
keys it generates.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

from config.env import env_bool, env_float, env_int, env_list, env_str
from config.storage import s3_origin, s3_storage

BASE_DIR = Path(__file__).resolve().parent.parent


def _path(value: str) -> Path:
    """A configured path; a relative one is taken from the project folder, not the cwd."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else BASE_DIR / path


# ENV_FILE="" reads no file (the test suite does that, to be independent of a developer's .env).
_env_file = env_str("ENV_FILE", str(BASE_DIR / ".env"))
if _env_file:
    load_dotenv(_env_file, override=False)

# --- Core -------------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is false (`make run` writes one into .env)."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Where runtime state lives by default (SQLite file, broker folders, media, caches).
VAR_DIR = _path(env_str("VAR_DIR", "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)  # SQLite will not create the folder of its file

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "axes",
    "ninja",  # the API docs page's template and its Swagger UI files, served locally
    "accounts",
    "gallery",
]

MIDDLEWARE = [
    # /healthz and /readyz, answered before the host check and the HTTPS redirect.
    "config.middleware.HealthCheckMiddleware",
    "config.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Signed thumbnail URLs, served like static files: no session, no query (gallery.thumbnails).
    "gallery.middleware.SignedThumbnailMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Django's LocaleMiddleware, extended: the user's own language choice, else the browser's
    # Accept-Language. After AuthenticationMiddleware because it reads the user; Django asks for
    # it before CommonMiddleware only for language-prefixed URLs, which Darkroom has none of.
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "config.middleware.HtmxMessagesMiddleware",
    "axes.middleware.AxesMiddleware",
    # A workspace's old address (before a rename) redirects its members to the new one.
    "accounts.middleware.WorkspaceMovedMiddleware",
    "accounts.middleware.LastWorkspaceMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
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
                "accounts.context_processors.workspaces",
                "gallery.context_processors.gallery",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
]

# --- Data -------------------------------------------------------------------------------------

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    if DATABASES["default"]["NAME"] != ":memory:":
        DATABASES["default"]["NAME"] = str(_path(DATABASES["default"]["NAME"]))
    # Web, worker and beat share one SQLite file: wait for locks instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    # A file, not memory, so that a real Celery worker in the integration tests shares it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

_cache_url = env_str("CACHE_URL", f"file://{VAR_DIR / 'cache'}")
if _cache_url.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {
            # Redis restarting is a cache miss, not an error (config/cache.py); a Redis that
            # hangs must not hang a page.
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": _cache_url,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
elif _cache_url.startswith("file://"):
    CACHES = {
        "default": {
            "BACKEND": "config.cache.FileCache",
            "LOCATION": str(_path(_cache_url.removeprefix("file://"))),
        }
    }
elif _cache_url == "locmem://":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise ImproperlyConfigured(
        "CACHE_URL must start with redis://, rediss:// or file://, or be locmem://; "
        f"got {_cache_url!r}"
    )

# --- Auth -------------------------------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses a locked-out login before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# How long a one-time set-password link for a new member stays valid.
PASSWORD_RESET_TIMEOUT = env_int("SET_PASSWORD_LINK_SECONDS", 3 * 24 * 3600, minimum=60)

AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# And one address trying many emails: accounts.auth.LoginLockoutHandler.
LOGIN_FAILURE_LIMIT_PER_ADDRESS = env_int("LOGIN_FAILURE_LIMIT_PER_ADDRESS", 20, minimum=1)
AXES_HANDLER = "accounts.auth.LoginLockoutHandler"
AXES_RESET_ON_SUCCESS = True
# The login form's field is called "username" even though users sign in with their email.
AXES_USERNAME_FORM_FIELD = "username"
# Count failures per email whatever its case: signing in ignores case too.
AXES_USERNAME_CALLABLE = "accounts.auth.axes_username"
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
AXES_VERBOSE = False

# --- Credentials ------------------------------------------------------------------------------

# Comma-separated Fernet keys. The first encrypts; all of them decrypt (key rotation).
CREDENTIAL_KEYS = env_list("CREDENTIAL_KEYS")

# --- Providers --------------------------------------------------------------------------------

SANDBOX_URL = env_str("SANDBOX_URL", "http://127.0.0.1:8765")
# Workers connect only to public addresses, so a provider URL typed by a workspace admin cannot
# reach the cloud metadata service or the private network. Hosts listed here (host, host:port or
# a URL) may be loopback or private: the sandbox always, plus e.g. a provider behind a VPN.
PROVIDER_PRIVATE_HOSTS = [SANDBOX_URL, *env_list("PROVIDER_PRIVATE_HOSTS")]
# The same guard for the webhook URLs workspace admins type: loopback or private hosts only
# where listed here (host, host:port or a URL), e.g. a chat bridge on the office network.
WEBHOOK_PRIVATE_HOSTS = env_list("WEBHOOK_PRIVATE_HOSTS")

# --- Celery -----------------------------------------------------------------------------------

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", f"file://{VAR_DIR / 'celery' / 'results'}")
if CELERY_RESULT_BACKEND.startswith("file://"):
    _results_dir = _path(CELERY_RESULT_BACKEND.removeprefix("file://"))
    CELERY_RESULT_BACKEND = f"file://{_results_dir}"
    _results_dir.mkdir(parents=True, exist_ok=True)  # Celery refuses a missing folder
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _celery_dir = VAR_DIR / "celery"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_dir / "broker"),
        "data_folder_out": str(_celery_dir / "broker"),
        "processed_folder": str(_celery_dir / "processed"),
        "control_folder": str(_celery_dir / "control"),
        "store_processed": False,
        # How often an idle worker looks for new messages (kombu's default, 1 s, delays every job).
        "polling_interval": env_float("CELERY_BROKER_POLLING_INTERVAL", 0.1, minimum=0.01),
    }
    # kombu's own filesystem transport lets a worker read a message before it is fully written,
    # which kills the worker; ours writes each message whole (see config/broker.py).
    CELERY_BROKER_TRANSPORT = "config.broker:Transport"
    # The filesystem transport does not create its folders; web, worker and beat all need them.
    for _name in ("broker", "processed", "control"):
        (_celery_dir / _name).mkdir(parents=True, exist_ok=True)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# What a task prints (the console email backend's emails) is output, not a warning.
CELERY_WORKER_REDIRECT_STDOUTS_LEVEL = "INFO"
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 600, minimum=10)
# A web request must not hang on a broker that is down: a few quick tries, then the job waits in
# the database for the dispatcher (gallery/services/jobs.py) and the user is told so.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.25,
    "interval_max": 0.5,
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"

# --- Static and media -------------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = _path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = _path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))

_static_storage = env_str("STATIC_STORAGE", "simple" if DEBUG else "manifest")
if _static_storage not in {"simple", "manifest"}:
    raise ImproperlyConfigured(
        f"STATIC_STORAGE must be simple or manifest, not {_static_storage!r}"
    )
# Media (originals and thumbnails) on the local disk under MEDIA_ROOT, or in a private
# S3-compatible bucket. Either way members get files only after the membership check: from
# Django locally, as a redirect to a short-lived presigned URL from the bucket.
MEDIA_STORAGE = env_str("MEDIA_STORAGE", "local")
if MEDIA_STORAGE not in {"local", "s3"}:
    raise ImproperlyConfigured(f"MEDIA_STORAGE must be local or s3, not {MEDIA_STORAGE!r}")
S3_BUCKET = env_str("S3_BUCKET")
S3_ENDPOINT_URL = env_str("S3_ENDPOINT_URL")  # empty for AWS itself
S3_REGION = env_str("S3_REGION", "us-east-1")
# How long a presigned media URL works; redirects to one are cached for at most half of it.
S3_PRESIGN_SECONDS = env_int("S3_PRESIGN_SECONDS", 300, minimum=10)
# Where browsers fetch media from when it is not this site (the CSP's img-src allows it).
MEDIA_ORIGIN = ""
_media_storage: dict[str, object] = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
if MEDIA_STORAGE == "s3":
    if not S3_BUCKET:
        raise ImproperlyConfigured("S3_BUCKET must be set when MEDIA_STORAGE is s3.")
    _media_storage = s3_storage(
        bucket=S3_BUCKET,
        endpoint_url=S3_ENDPOINT_URL,
        region=S3_REGION,
        access_key_id=env_str("S3_ACCESS_KEY_ID"),
        secret_access_key=env_str("S3_SECRET_ACCESS_KEY"),
        prefix=env_str("S3_PREFIX"),
        presign_seconds=S3_PRESIGN_SECONDS,
    )
    MEDIA_ORIGIN = s3_origin(bucket=S3_BUCKET, endpoint_url=S3_ENDPOINT_URL, region=S3_REGION)

STORAGES = {
    "default": _media_storage,
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if _static_storage == "manifest"
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Email (budget notifications) -------------------------------------------------------------

# Console by default (the worker's log); SMTP as soon as EMAIL_HOST is set. Mail is sent by a
# worker (accounts.tasks.send_notification_email), never while a page waits.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=True)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Darkroom <darkroom@localhost>")
# Where people open Darkroom: links in emails are made absolute with it.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# --- Security ---------------------------------------------------------------------------------

# Sessions read from the cache (Redis in production), written through to the database: a page
# no longer spends a database query (≈0.25 ms a round trip on PostgreSQL) loading its session,
# and a cache that is emptied or lost only costs a read from the database. (So the cache must be
# shared by every web process, as Redis and the file cache are: with locmem:// a logout in one
# process would not reach another's memory.)
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", default=False)
# How many proxies in front of the app append to X-Forwarded-For (used only behind a proxy).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1, minimum=1)
if BEHIND_TLS_PROXY:
    # Only safe when a proxy in front strips any X-Forwarded-Proto the client sent.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Behind a proxy every request comes from the proxy's address: lockouts by address would
    # lock out everyone at once. (Axes' own AXES_IPWARE_* settings need django-ipware.)
    AXES_CLIENT_IP_CALLABLE = "accounts.auth.client_ip_behind_proxy"

# No inline script or style anywhere: htmx's own indicator style is switched off in base.html.
CONTENT_SECURITY_POLICY = env_str(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    f"img-src 'self' data: blob:{' ' + MEDIA_ORIGIN if MEDIA_ORIGIN else ''}; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'",
)

# --- I18n, logging ----------------------------------------------------------------------------

# Two languages. British English is the default, for browsers that ask for neither and for
# emails to users who never chose one. URLs carry no language prefix: the language is the user's
# choice (User.language), else the browser's Accept-Language (accounts.middleware).
LANGUAGE_CODE = "en-gb"
LANGUAGES = [("en-gb", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Named date formats per language (config/formats/en_GB, config/formats/de): templates ask for
# SHORT_DATETIME_FORMAT and friends, never for "Y-m-d H:i".
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
# plain: one readable line per message; json: one JSON object per line, for a log collector.
LOG_FORMAT = env_str("LOG_FORMAT", "plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "config.logfilters.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s: %(message)s",
        },
        "json": {"()": "config.logfilters.JsonFormatter"},
    },
    "filters": {
        # The request id (web) and the job id (worker) on every line.
        "log_context": {"()": "config.logfilters.LogContext"},
        "quiet_routine_tasks": {"()": "config.logfilters.QuietRoutineTasks"},
        "one_line_for_refusals": {"()": "config.logfilters.OneLineForRefusals"},
        "quiet_broker_hostname": {"()": "config.logfilters.QuietBrokerHostname"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["log_context"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Celery's lines about the recovery tick, every few seconds, in beat and the worker.
        **{
            name: {"filters": ["quiet_routine_tasks"]}
            for name in ("celery.beat", "celery.worker.strategy", "celery.app.trace")
        },
        # A 403 is one line (who was refused what, and why), not an 18-line traceback.
        "django.request": {"filters": ["one_line_for_refusals"]},
        "kombu.connection": {"filters": ["quiet_broker_hostname"]},
        # urllib3 logs full request lines at DEBUG; keep it quiet even when we are verbose.
        "urllib3": {"level": "WARNING"},
        # axes logs every successful login at INFO; lockouts and failures still show.
        "axes": {"level": "WARNING"},
    },
}

if LOG_FORMAT == "json":
    # Python's warnings (a library's UserWarning) as log records, so they are JSON lines too.
    logging.captureWarnings(True)

# --- Jobs ------------------------------------------------------------------------------------

JOBS_MAX_ACTIVE_PER_WORKSPACE = env_int("JOBS_MAX_ACTIVE_PER_WORKSPACE", 8, minimum=1)
JOBS_PER_MEMBER_PER_MINUTE = env_int("JOBS_PER_MEMBER_PER_MINUTE", 10, minimum=1)
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 5, minimum=1)
JOB_RETRY_BASE_SECONDS = env_float("JOB_RETRY_BASE_SECONDS", 2.0, minimum=0.0)
JOB_RETRY_MAX_SECONDS = env_float("JOB_RETRY_MAX_SECONDS", 300.0, minimum=0.0)
# A worker holding a job writes a heartbeat on it this often; a RUNNING job whose heartbeat is
# older than JOB_STALE_SECONDS has lost its worker and is resumed (after reconciling).
JOB_HEARTBEAT_SECONDS = env_float("JOB_HEARTBEAT_SECONDS", 5.0, minimum=0.1)
JOB_STALE_SECONDS = env_float("JOB_STALE_SECONDS", 30.0, minimum=1.0)
# How long a worker keeps trying a step of a job while the database cannot be reached
# (gallery/services/outages.py) before it lets the job go for the reaper to hand back.
JOB_DATABASE_RETRY_SECONDS = env_float("JOB_DATABASE_RETRY_SECONDS", 30.0, minimum=0.0)
if JOB_STALE_SECONDS < 3 * JOB_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured(
        "JOB_STALE_SECONDS must be at least three times JOB_HEARTBEAT_SECONDS, "
        "or a slow database would hand live jobs to a second worker."
    )
# How often beat runs the recovery tick (reaper + dispatcher), and how long a QUEUED job that is
# due may wait for its message before the dispatcher sends another one.
JOB_DISPATCH_SECONDS = env_float("JOB_DISPATCH_SECONDS", 5.0, minimum=0.5)
JOB_REDISPATCH_SECONDS = env_float("JOB_REDISPATCH_SECONDS", 10.0, minimum=1.0)
# How far before our own call a provider history entry may be dated and still be "ours".
JOB_RECONCILE_SLACK_SECONDS = env_int("JOB_RECONCILE_SLACK_SECONDS", 120, minimum=0)
# After an unknown outcome, how long to keep looking in the provider's history for the request
# we gave up on before concluding it never ran, and how often to look.
JOB_RECONCILE_WAIT_SECONDS = env_float("JOB_RECONCILE_WAIT_SECONDS", 300.0, minimum=0.0)
JOB_RECONCILE_POLL_SECONDS = env_float("JOB_RECONCILE_POLL_SECONDS", 30.0, minimum=0.1)
# After the provider answered a paid call with an error (a 5xx, a garbled body) the request is
# over; its history is trusted to show whether it ran this many seconds later.
JOB_RECONCILE_SETTLE_SECONDS = env_float("JOB_RECONCILE_SETTLE_SECONDS", 10.0, minimum=0.0)
PROMPT_MAX_LENGTH = env_int("PROMPT_MAX_LENGTH", 2000, minimum=1)
IMAGE_MAX_BYTES = env_int("IMAGE_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
IMAGE_MAX_PIXELS = env_int("IMAGE_MAX_PIXELS", 40_000_000, minimum=1)
# Result images download from any public host. Non-public storage hosts (host[:port]) they may
# also come from; the provider's own hosts are always allowed.
PROVIDER_DOWNLOAD_HOSTS = env_list("PROVIDER_DOWNLOAD_HOSTS")
CATALOG_REFRESH_MINUTES = env_int("CATALOG_REFRESH_MINUTES", 60, minimum=1)
QUOTA_REFRESH_MINUTES = env_int("QUOTA_REFRESH_MINUTES", 10, minimum=1)

# History mirror: incremental syncs often, a full reconciliation (detects deletions) less often.
HISTORY_SYNC_MINUTES = env_int("HISTORY_SYNC_MINUTES", 15, minimum=1)
HISTORY_FULL_SYNC_HOURS = env_int("HISTORY_FULL_SYNC_HOURS", 24, minimum=1)
HISTORY_PAGE_SIZE = env_int("HISTORY_PAGE_SIZE", 100, minimum=1)
# A running sync whose heartbeat is older than this lost its worker; another may take over.
HISTORY_SYNC_STALE_SECONDS = env_int("HISTORY_SYNC_STALE_SECONDS", 600, minimum=1)

# How often beat sends the tick that the operations page shows as "beat last ran".
OPS_BEAT_TICK_SECONDS = 30.0

CELERY_BEAT_SCHEDULE = {
    "record-beat": {
        "task": "gallery.tasks.record_beat",
        "schedule": OPS_BEAT_TICK_SECONDS,
        "options": {"expires": OPS_BEAT_TICK_SECONDS},
    },
    "refresh-catalogs": {
        "task": "gallery.tasks.refresh_all_catalogs",
        "schedule": CATALOG_REFRESH_MINUTES * 60,
    },
    "refresh-quotas": {
        "task": "gallery.tasks.refresh_all_quotas",
        "schedule": QUOTA_REFRESH_MINUTES * 60,
    },
    "recover-jobs": {
        "task": "gallery.tasks.recover_jobs",
        "schedule": JOB_DISPATCH_SECONDS,
        # Ticks that waited behind busy workers are stale; the next one does the same work.
        "options": {"expires": 2 * JOB_DISPATCH_SECONDS},
    },
    "resend-webhooks": {
        "task": "gallery.tasks.resend_webhooks",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    "sync-histories": {
        "task": "gallery.tasks.sync_all_histories",
        "schedule": HISTORY_SYNC_MINUTES * 60,
        "args": ("incremental",),
    },
    "full-sync-histories": {
        "task": "gallery.tasks.sync_all_histories",
        "schedule": HISTORY_FULL_SYNC_HOURS * 3600,
        "args": ("full",),
    },
}

if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Redis hands an unacknowledged message to another worker after this many seconds. A job's
    # message stays unacknowledged while it waits for its countdown and while the task runs, so
    # the timeout is above both together: a running job's message is never delivered twice
    # while it runs. (A second delivery would be harmless, the claim refuses it, but wasteful.)
    # A worker that died is not waited for: the reaper and the dispatcher recover its jobs.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": CELERY_TASK_TIME_LIMIT + JOB_RETRY_MAX_SECONDS + 60
    }
    # kombu's own, except that a worker reconnects when Redis restarts (config/broker.py).
    CELERY_BROKER_TRANSPORT = "config.broker:RedisTransport"

# Seconds a provider may take before the request is abandoned (connect, read).
PROVIDER_CONNECT_TIMEOUT = env_float("PROVIDER_CONNECT_TIMEOUT", 5.0, minimum=0.1)
PROVIDER_READ_TIMEOUT = env_float("PROVIDER_READ_TIMEOUT", 60.0, minimum=0.1)
# Generating takes longer than other calls; past this the job reconciles before trying again.
PROVIDER_GENERATE_TIMEOUT = env_float("PROVIDER_GENERATE_TIMEOUT", 180.0, minimum=0.1)
