"""Everything the sandbox remembers, in its own SQLite file.

One connection guarded by a lock: the server is threaded, but the work per request is tiny, and
a single writer keeps quota reservations atomic without any retry dance.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY, client_id TEXT NOT NULL, expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS images (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    image_id TEXT NOT NULL UNIQUE,
    batch_id TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    user_id INTEGER NOT NULL,
    prompt TEXT NOT NULL,
    model TEXT NOT NULL,
    parameters TEXT NOT NULL,
    input_images TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    format TEXT NOT NULL,
    seed INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    data BLOB,
    size INTEGER
);
CREATE INDEX IF NOT EXISTS images_by_workspace ON images (workspace_id, seq);
CREATE TABLE IF NOT EXISTS quotas (
    workspace_id TEXT PRIMARY KEY,
    limit_monthly INTEGER NOT NULL,
    limit_daily INTEGER NOT NULL,
    used_monthly INTEGER NOT NULL,
    used_daily INTEGER NOT NULL,
    bonus INTEGER NOT NULL,
    spillover INTEGER NOT NULL,
    fair_use INTEGER NOT NULL,
    daily_refreshed TEXT NOT NULL,
    cycle TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    file_id TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    data BLOB NOT NULL,
    created_at REAL NOT NULL
);
"""

# Every images column except the blob, so listing 1,000 history rows stays cheap.
_IMAGE_COLUMNS = (
    "image_id, batch_id, workspace_id, user_id, prompt, model, parameters, input_images, "
    "width, height, format, seed, created_at, size"
)


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ImageRow:
    image_id: str
    batch_id: str
    workspace_id: str
    user_id: int
    prompt: str
    model: str
    parameters: dict[str, Any]
    input_images: list[str]
    width: int
    height: int
    format: str
    seed: int
    created_at: str
    size: int | None = None
    data: bytes | None = field(default=None, repr=False)


@dataclass
class Quota:
    workspace_id: str
    limit_monthly: int
    limit_daily: int
    used_monthly: int = 0
    used_daily: int = 0
    bonus: int = 0
    spillover: int = 0
    fair_use: bool = False
    daily_refreshed: str = ""
    cycle: str = ""

    @property
    def available(self) -> int:
        """Room left in the billing cycle, bonus and spillover included."""
        return max(0, self.limit_monthly + self.bonus + self.spillover - self.used_monthly)

    @property
    def daily_room(self) -> int:
        return max(0, self.limit_daily - self.used_daily)


QUOTA_FIELDS = tuple(f.name for f in fields(Quota) if f.name != "workspace_id")


def _rolled_over(quota: Quota, now: datetime) -> Quota:
    # Daily use resets at midnight UTC, monthly use with the calendar month (our billing cycle).
    today, cycle = now.date().isoformat(), now.strftime("%Y-%m")
    if quota.daily_refreshed != today:
        quota = replace(quota, used_daily=0, daily_refreshed=today)
    if quota.cycle != cycle:
        quota = replace(quota, used_monthly=0, cycle=cycle)
    return quota


class Store:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._db.row_factory = sqlite3.Row

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- meta ---------------------------------------------------------------------------------

    def meta(self, key: str, default: str | None = None) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def signing_key(self) -> bytes:
        """Kept in the db so signed URLs stay valid across a restart, like the real storage's."""
        with self._tx() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'signing_key'").fetchone()
            if row:
                return bytes.fromhex(row[0])
            key = secrets.token_bytes(32)
            db.execute("INSERT INTO meta (key, value) VALUES ('signing_key', ?)", (key.hex(),))
            return key

    # -- tokens -------------------------------------------------------------------------------

    def issue_token(self, client_id: str, ttl: float) -> str:
        token = "sbx_" + secrets.token_urlsafe(32)
        with self._lock:
            self._db.execute("DELETE FROM tokens WHERE expires_at < ?", (time.time() - 86400,))
            self._db.execute(
                "INSERT INTO tokens (token, client_id, expires_at) VALUES (?, ?, ?)",
                (token, client_id, time.time() + ttl),
            )
        return token

    def token_client(self, token: str) -> str | None:
        """The client a token was issued to, or None when it is unknown or has expired."""
        with self._lock:
            row = self._db.execute(
                "SELECT client_id, expires_at FROM tokens WHERE token = ?", (token,)
            ).fetchone()
        return row[0] if row and row[1] > time.time() else None

    def revoke_tokens(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM tokens")

    # -- quota --------------------------------------------------------------------------------

    def ensure_quota(self, workspace_id: str, limit_monthly: int, limit_daily: int) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO quotas (workspace_id, limit_monthly, limit_daily, "
                "used_monthly, used_daily, bonus, spillover, fair_use, daily_refreshed, cycle) "
                "VALUES (?, ?, ?, 0, 0, 0, 0, 0, '', '')",
                (workspace_id, limit_monthly, limit_daily),
            )

    def _load_quota(self, db: sqlite3.Connection, workspace_id: str) -> Quota | None:
        row = db.execute(
            f"SELECT {', '.join(QUOTA_FIELDS)} FROM quotas WHERE workspace_id = ?",  # noqa: S608
            (workspace_id,),
        ).fetchone()
        if row is None:
            return None
        quota = Quota(workspace_id, *row)
        quota.fair_use = bool(quota.fair_use)
        return quota

    def _save_quota(self, db: sqlite3.Connection, quota: Quota) -> None:
        values = [getattr(quota, name) for name in QUOTA_FIELDS]
        assignments = ", ".join(f"{name} = ?" for name in QUOTA_FIELDS)
        db.execute(
            f"UPDATE quotas SET {assignments} WHERE workspace_id = ?",  # noqa: S608
            (*values, quota.workspace_id),
        )

    def quota(self, workspace_id: str) -> Quota | None:
        with self._tx() as db:
            quota = self._load_quota(db, workspace_id)
            if quota is None:
                return None
            rolled = _rolled_over(quota, utc_now())
            if rolled != quota:
                self._save_quota(db, rolled)
            return rolled

    def reserve_images(self, workspace_id: str, wanted: int) -> tuple[int, Quota]:
        """Charge up to `wanted` credits; both the daily and the monthly limit must have room."""
        with self._tx() as db:
            quota = self._load_quota(db, workspace_id)
            if quota is None:
                raise KeyError(workspace_id)
            quota = _rolled_over(quota, utc_now())
            granted = max(0, min(wanted, quota.available, quota.daily_room))
            quota.used_monthly += granted
            quota.used_daily += granted
            self._save_quota(db, quota)
            return granted, quota

    def update_quota(self, workspace_id: str, **changes: Any) -> Quota:
        with self._tx() as db:
            quota = self._load_quota(db, workspace_id)
            if quota is None:
                raise KeyError(workspace_id)
            # Roll over first so a test setting `used_daily` is not wiped by the next read.
            quota = replace(_rolled_over(quota, utc_now()), **changes)
            self._save_quota(db, quota)
            return quota

    # -- NanoGPT balance ----------------------------------------------------------------------

    def balance(self) -> Decimal:
        return Decimal(self.meta("balance", "0") or "0")

    def set_balance(self, amount: Decimal) -> None:
        self.set_meta("balance", str(amount))

    def charge_balance(self, cost: Decimal) -> Decimal | None:
        """Deduct `cost`; None (and nothing deducted) when the balance does not cover it."""
        with self._tx() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'balance'").fetchone()
            balance = Decimal(row[0]) if row else Decimal(0)
            if balance < cost:
                return None
            balance -= cost
            db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('balance', ?)", (str(balance),)
            )
            return balance

    # -- images (neuroflash history) ----------------------------------------------------------

    def insert_images(self, rows: Sequence[ImageRow]) -> None:
        columns = [f.name for f in fields(ImageRow)]
        with self._tx() as db:
            db.executemany(
                f"INSERT INTO images ({', '.join(columns)}) "  # noqa: S608
                f"VALUES ({', '.join('?' for _ in columns)})",
                [tuple(_column_value(getattr(row, name)) for name in columns) for row in rows],
            )

    @staticmethod
    def _image(row: sqlite3.Row) -> ImageRow:
        values = dict(zip(row.keys(), row, strict=True))
        values["parameters"] = json.loads(values["parameters"])
        values["input_images"] = json.loads(values["input_images"])
        return ImageRow(**values)

    def list_images(
        self, workspace_id: str, *, model: str | None, limit: int, offset: int
    ) -> list[ImageRow]:
        """Newest first: `seq` is the insertion order, which is also creation order."""
        sql = f"SELECT {_IMAGE_COLUMNS} FROM images WHERE workspace_id = ?"  # noqa: S608
        args: list[Any] = [workspace_id]
        if model:
            sql += " AND model = ?"
            args.append(model)
        sql += " ORDER BY seq DESC LIMIT ? OFFSET ?"
        args += [limit, offset]
        with self._lock:
            return [self._image(row) for row in self._db.execute(sql, args)]

    def count_images(self, workspace_id: str) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM images WHERE workspace_id = ?", (workspace_id,)
            ).fetchone()
        return int(row[0])

    def get_image(
        self, image_id: str, *, workspace_id: str | None = None, with_data: bool = False
    ) -> ImageRow | None:
        """One history entry; `workspace_id` None means any workspace (the storage host)."""
        sql = f"SELECT {_IMAGE_COLUMNS}{', data' if with_data else ''} FROM images"  # noqa: S608
        sql += " WHERE image_id = ?"
        args = [image_id]
        if workspace_id is not None:
            sql += " AND workspace_id = ?"
            args.append(workspace_id)
        with self._lock:
            row = self._db.execute(sql, args).fetchone()
        return self._image(row) if row else None

    def store_image_data(self, image_id: str, data: bytes) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE images SET data = ?, size = ? WHERE image_id = ?",
                (data, len(data), image_id),
            )

    def delete_image(self, workspace_id: str, image_id: str) -> bool:
        with self._lock:
            cursor = self._db.execute(
                "DELETE FROM images WHERE workspace_id = ? AND image_id = ?",
                (workspace_id, image_id),
            )
        return cursor.rowcount > 0

    # -- NanoGPT files ------------------------------------------------------------------------

    def put_file(self, content_type: str, data: bytes) -> str:
        file_id = uuid.uuid4().hex
        with self._lock:
            self._db.execute(
                "INSERT INTO files (file_id, content_type, data, created_at) VALUES (?, ?, ?, ?)",
                (file_id, content_type, data, time.time()),
            )
        return file_id

    def get_file(self, file_id: str) -> tuple[str, bytes] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT content_type, data FROM files WHERE file_id = ?", (file_id,)
            ).fetchone()
        return (row[0], row[1]) if row else None

    # -- reset --------------------------------------------------------------------------------

    def wipe(self, *, revoke_tokens: bool) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM images")
            db.execute("DELETE FROM files")
            db.execute("DELETE FROM quotas")
            db.execute("DELETE FROM meta WHERE key != 'signing_key'")
            if revoke_tokens:
                db.execute("DELETE FROM tokens")


def _column_value(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, dict | list) else value
