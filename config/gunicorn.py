"""gunicorn's settings for production (`make prod`, Procfile.prod): `gunicorn -c config/gunicorn.py
config.wsgi`. Sized from the environment, else from the machine's CPU count."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

from dotenv import load_dotenv

# The same .env the settings read (real environment variables win), for WEB_HOST and the rest.
_env_file = os.environ.get("ENV_FILE", str(Path(__file__).resolve().parent.parent / ".env"))
if _env_file:
    load_dotenv(_env_file, override=False)

# Processes: the usual 2 x cores + 1, capped so a big machine does not open hundreds of
# database connections (each thread of each process holds one).
MAX_DEFAULT_WORKERS = 12

_host = os.environ.get("WEB_HOST") or "127.0.0.1"
_port = os.environ.get("WEB_PORT") or "8000"
bind = f"{_host}:{_port}"
workers = int(
    os.environ.get("WEB_CONCURRENCY")
    or min(2 * multiprocessing.cpu_count() + 1, MAX_DEFAULT_WORKERS)
)
# Threads per process: pages mostly wait on the database and on storage.
threads = int(os.environ.get("WEB_THREADS") or 4)
worker_class = "gthread"
# A request that takes longer than this is stuck: the process is replaced.
timeout = 60
# On SIGTERM (a deploy, a restart) requests in flight get this long to finish.
graceful_timeout = 30
keepalive = 5
# A process is replaced after this many requests (with jitter), so a slow leak cannot grow.
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
# The request id (config.middleware.RequestIdMiddleware) ties an access line to the app's lines.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s" request=%({x-request-id}o)s'
control_socket_disable = True

# LOG_FORMAT=json: gunicorn's own lines (startup, worker restarts, errors) and the access lines
# are JSON objects too, the access lines with their fields (config.logfilters).
if (os.environ.get("LOG_FORMAT") or "plain").strip() == "json":
    _stream = {"class": "logging.StreamHandler", "formatter": "json"}
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {"()": "config.logfilters.JsonFormatter"},
            "access": {"()": "config.logfilters.GunicornAccessJsonFormatter"},
        },
        "handlers": {
            "stderr": {**_stream, "stream": "ext://sys.stderr"},
            "access": {**_stream, "formatter": "access", "stream": "ext://sys.stdout"},
        },
        "root": {"level": "INFO", "handlers": ["stderr"]},
        # Not propagated: Django's LOGGING gives the root logger a handler in each process.
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
        },
    }


def when_ready(server: object) -> None:
    """Say where to go once the port is open: `make prod` prints no other banner."""
    site = os.environ.get("SITE_URL")
    where = f"http://{bind}/" + (f" (people reach it as {site})" if site else "")
    server.log.info(  # type: ignore[attr-defined]
        "Darkroom is serving at %s. Log in with an admin account "
        "(README.md, Deploying: The first admin).",
        where,
    )
