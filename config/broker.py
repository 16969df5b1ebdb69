"""The zero-service default broker: kombu's filesystem transport, made safe for several processes
(and, at the end, kombu's Redis transport, made to survive a Redis restart).

kombu's own filesystem transport creates a message file and then writes into it, while a worker
in another process may already be reading it (the reader takes no lock): the worker sees an empty
or half-written file, fails to decode it and exits with "Unrecoverable error". Here a message is
written to a hidden folder first and renamed into place, so a reader only ever sees whole files;
a reader claims a file by renaming it away, so two workers never take the same message; and a
file that still cannot be read (written by something else, or damaged on disk) is moved aside
with a warning instead of stopping the worker.

Why this and not kombu's SQLAlchemy transport on a SQLite file: it keeps `make run` free of a new
dependency, keeps messages out of the database the web tier writes to (no lock contention with
SQLite), and the failure it fixes is small and well understood. Messages a worker had taken when
it died are not restored by this transport; jobs do not depend on that, because the database is
their source of truth (the dispatcher sends a QUEUED job again, see gallery/services/jobs.py).
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path
from queue import Empty
from time import monotonic_ns
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem, redis
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# Inside the broker folder, so that the final rename never crosses file systems. Its name has no
# "<queue>.msg" suffix, so readers (ours and kombu's) skip it.
WRITING_FOLDER = ".writing"
UNREADABLE_FOLDER = "unreadable"


class Channel(filesystem.Channel):
    # kombu's stubs name the message `message` in AbstractChannel and `payload` here.
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        # Readers take files in name order: nanoseconds, zero-padded, keep one sender's order.
        name = f"{monotonic_ns():020d}_{uuid.uuid4()}.{queue}.msg"
        writing = Path(self.data_folder_out) / WRITING_FOLDER
        partial = writing / name
        try:
            writing.mkdir(exist_ok=True)
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, Path(self.data_folder_out) / name)  # atomic: whole or absent
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise ChannelError(f"Cannot add message {name!r} to {self.data_folder_out}") from exc

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        suffix = f"{queue}.msg"
        taken_folder = Path(self.processed_folder)
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != suffix:
                continue
            taken = taken_folder / name
            try:
                # Whoever renames the file first has the message; the others move on.
                os.replace(Path(self.data_folder_in) / name, taken)
            except FileNotFoundError:
                continue
            try:
                payload = loads(bytes_to_str(taken.read_bytes()))
            except (OSError, ValueError) as exc:
                self._set_aside(taken, exc)
                continue
            if not self.store_processed:
                taken.unlink(missing_ok=True)
            return payload
        raise Empty()

    def _set_aside(self, taken: Path, exc: Exception) -> None:
        aside = taken.parent / UNREADABLE_FOLDER
        logger.warning(
            "Skipped an unreadable broker message %s (%s); moved it to %s",
            taken.name,
            exc.__class__.__name__,
            aside,
        )
        try:
            aside.mkdir(exist_ok=True)
            os.replace(taken, aside / taken.name)
        except OSError:
            taken.unlink(missing_ok=True)


class Transport(filesystem.Transport):
    Channel = Channel

    # Celery's blocking loop (the one this transport gets) drains for 2 s at a time, notices a
    # shutdown only between drains and then drains once more: Ctrl-C took about 4 s, past
    # honcho's 5 s only just. Short drains stop it within half a second and cost nothing
    # (the channel polls every CELERY_BROKER_POLLING_INTERVAL anyway).
    MAX_DRAIN_SECONDS = 0.25

    # kombu's stubs give its two base classes different signatures for this.
    def drain_events(self, connection: Any, timeout: float | None = None) -> None:  # type: ignore[override]
        if timeout is not None:
            timeout = min(timeout, self.MAX_DRAIN_SECONDS)
        super().drain_events(connection, timeout=timeout)


# --- Redis --------------------------------------------------------------------------------------


class _RedisQoS(redis.QoS):
    """kombu's Redis QoS, which lets a worker reconnect when Redis goes away.

    When the connection to Redis breaks, the worker closes its channel, and kombu then puts back
    the messages the worker had taken but not acknowledged. That needs Redis: it raises (a
    ConnectionError, or an AttributeError once the connection is closed), and the worker stops
    with "Unrecoverable error" instead of reconnecting. Here the messages are left where they
    are: in Redis's set of unacknowledged messages, which hands them out again after the
    visibility timeout (if Redis kept its data); jobs never depend on that, the dispatcher sends
    a QUEUED job again (gallery/services/jobs.py).
    """

    def restore_unacked(self, client: Any = None) -> None:
        if self.channel.connection.client is None:  # closed already: no way to reach Redis
            self._leave_unrestored("the connection to the broker is closed")
            return
        try:
            super().restore_unacked(client)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            self._leave_unrestored(str(exc))

    def _leave_unrestored(self, reason: str) -> None:
        delivered = self._delivered
        logger.warning(
            "%d unacknowledged message(s) left in Redis, not restored now (%s)",
            len(delivered or ()),
            reason,
        )
        if delivered is not None:
            delivered.clear()


class _RedisChannel(redis.Channel):
    QoS = _RedisQoS


class RedisTransport(redis.Transport):
    """kombu's Redis transport, with `_RedisQoS`."""

    Channel = _RedisChannel
