"""Command-line and environment settings for the sandbox process."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sandbox.ds_prototypes import DEFAULT_LAYOUT, LAYOUTS


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8765
    db: Path = Path("var/sandbox.sqlite3")
    token_ttl: float = 14399.0
    public_url: str | None = None
    client_id: str = "sandbox-client"
    client_secret: str = "sandbox-secret"  # noqa: S105 - the documented demo credential
    workspace_ids: tuple[str, ...] = ("sandbox-workspace",)
    # With the demo secret, a client id of this prefix and a name is a demo account of its own
    # (its own workspace, history and quota). Empty: only the configured client.
    account_prefix: str = "sandbox-"
    api_key: str = "sandbox-key"
    balance: Decimal = Decimal("25.00")
    url_ttl: float = 3600.0
    quota_monthly: int = 1000
    quota_daily: int = 200
    quiet: bool = False
    # Serve the ds-prototypes routes in one documented layout only (reference, guide,
    # overview) or under both prefixes (both).
    ds_layout: str = DEFAULT_LAYOUT

    @property
    def workspace_id(self) -> str:
        return self.workspace_ids[0]


def _positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0: {value!r}")
    return number


def _non_negative_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0: {value!r}")
    return number


def _decimal(value: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a decimal: {value!r}") from None


def _id_list(value: str) -> tuple[str, ...]:
    ids = tuple(part.strip() for part in value.split(",") if part.strip())
    if not ids:
        raise argparse.ArgumentTypeError("need at least one workspace id")
    return ids


def parse_settings(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Flags win over SANDBOX_* environment variables, which win over the defaults."""
    env = os.environ if environ is None else environ
    d = Settings()

    def default(name: str, fallback: object) -> str:
        # argparse runs `type=` over string defaults too, so a bad env value fails loudly.
        return env.get(f"SANDBOX_{name}", str(fallback))

    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="Local stand-in for the neuroflash and NanoGPT image APIs.",
    )
    parser.add_argument("--host", default=default("HOST", d.host))
    parser.add_argument(
        "--port",
        type=_non_negative_int,
        default=default("PORT", d.port),
        help="0 picks a free port (the startup line shows which)",
    )
    parser.add_argument("--db", type=Path, default=default("DB", d.db))
    parser.add_argument(
        "--token-ttl",
        type=_positive_float,
        default=default("TOKEN_TTL", d.token_ttl),
        help="neuroflash access-token lifetime in seconds",
    )
    parser.add_argument(
        "--public-url",
        default=env.get("SANDBOX_PUBLIC_URL"),
        help="base URL put into absolute links (default: http://HOST:PORT)",
    )
    parser.add_argument("--client-id", default=default("CLIENT_ID", d.client_id))
    parser.add_argument("--client-secret", default=default("CLIENT_SECRET", d.client_secret))
    parser.add_argument(
        "--workspace-id",
        type=_id_list,
        default=default("WORKSPACE_ID", ",".join(d.workspace_ids)),
        help="comma-separated neuroflash workspace ids; the first is the default",
    )
    parser.add_argument(
        "--account-prefix",
        default=default("ACCOUNT_PREFIX", d.account_prefix),
        help="with the client secret, a client id of this prefix and a name is a demo account "
        "of its own, owning one workspace of the same id; empty turns this off",
    )
    parser.add_argument("--api-key", default=default("API_KEY", d.api_key))
    parser.add_argument(
        "--balance",
        type=_decimal,
        default=default("BALANCE", d.balance),
        help="starting NanoGPT balance in USD",
    )
    parser.add_argument(
        "--url-ttl",
        type=_positive_float,
        default=default("URL_TTL", d.url_ttl),
        help="lifetime of NanoGPT signed file URLs in seconds",
    )
    parser.add_argument(
        "--quota-monthly", type=_non_negative_int, default=default("QUOTA_MONTHLY", d.quota_monthly)
    )
    parser.add_argument(
        "--quota-daily", type=_non_negative_int, default=default("QUOTA_DAILY", d.quota_daily)
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        default=env.get("SANDBOX_QUIET", "") not in ("", "0", "false"),
        help="do not log each request to stderr",
    )
    parser.add_argument(
        "--ds-layout",
        choices=tuple(LAYOUTS),
        default=default("DS_LAYOUT", d.ds_layout),
        help="where the ds-prototypes routes answer: reference (all under /api/ds-prototypes), "
        "guide (generate and models under .../image_generation, the rest under the bare "
        "prefix), overview (all under .../image_generation) or both (every route on both)",
    )
    args = parser.parse_args(argv)
    return Settings(
        host=args.host,
        port=args.port,
        db=args.db,
        token_ttl=args.token_ttl,
        public_url=args.public_url.rstrip("/") if args.public_url else None,
        client_id=args.client_id,
        client_secret=args.client_secret,
        workspace_ids=args.workspace_id,
        account_prefix=args.account_prefix,
        api_key=args.api_key,
        balance=args.balance,
        url_ttl=args.url_ttl,
        quota_monthly=args.quota_monthly,
        quota_daily=args.quota_daily,
        quiet=args.quiet,
        ds_layout=args.ds_layout,
    )
