"""Start a Procfile's processes under honcho, for `make run` and `make prod`.

    python -m config.processes [Procfile] [process ...]

- The processes get `.env`'s values *under* the real environment: what is exported wins, and
  the file fills in the rest (WEB_PORT in a Procfile line, SANDBOX_* for the sandbox). honcho
  is told to read no env file itself (`-e /dev/null`): it would load `./.env` *over* the real
  environment, so a `.env` left by `make run` (its own SECRET_KEY, cookies allowed over plain
  HTTP) would silently beat what an operator exported.
- With `LOG_FORMAT=json` honcho's "web.1 |" prefixes are dropped, so that each line the
  processes write stays one JSON object a log collector can parse.
- Ctrl-C or SIGTERM is how a run ends, not an error: exit status 0. A SIGTERM sent to make
  alone reaches this process (make passes it on), and so honcho, which stops every process.
  Should honcho not have ended STOP_GRACE_SECONDS later (its own start-up race), it is killed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parent.parent
# honcho's exit status after SIGINT and SIGTERM.
STOPPED_BY_SIGNAL = {130, 143}
# honcho gives its processes 5 s after a SIGTERM, then kills them: it has stopped well before this.
STOP_GRACE_SECONDS = 20.0


def honcho_command(
    args: Sequence[str], environ: Mapping[str, str], dotenv: Mapping[str, str | None]
) -> list[str]:
    procfile, *processes = args or ["Procfile"]
    log_format = environ.get("LOG_FORMAT") or dotenv.get("LOG_FORMAT") or "plain"
    # Beside this Python (the project's venv) even when its bin folder is not on PATH.
    beside = Path(sys.executable).parent / "honcho"
    honcho = str(beside) if beside.exists() else shutil.which("honcho") or "honcho"
    prefix = ["--no-prefix"] if log_format.strip() == "json" else []
    return [honcho, "-e", os.devnull, *prefix, "-f", procfile, "start", *processes]


def main(argv: Sequence[str]) -> int:
    env_file = os.environ.get("ENV_FILE", str(ROOT / ".env"))
    dotenv = dotenv_values(env_file) if env_file and Path(env_file).exists() else {}
    command = honcho_command(argv, os.environ, dotenv)
    # The Procfile's folder (the project's): its commands' paths are relative to it.
    procfile = ROOT / command[command.index("-f") + 1]
    environment = {**{k: v for k, v in dotenv.items() if v is not None}, **os.environ}
    return supervise(command, cwd=procfile.parent, env=environment)


def supervise(
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    stop_grace: float = STOP_GRACE_SECONDS,
) -> int:
    """Run honcho until it ends; after Ctrl-C or SIGTERM, for `stop_grace` seconds at most."""
    process = subprocess.Popen(command, cwd=cwd, env=env)  # noqa: S603
    stopping_since: list[float] = []

    def stopping() -> None:
        if not stopping_since:
            stopping_since.append(time.monotonic())

    def forward(signum: int, _frame: object) -> None:
        stopping()
        process.send_signal(signum)

    def interrupted(_signum: int, _frame: object) -> None:
        stopping()

    # A SIGTERM may be meant for this process alone (`kill <pid of make>`: make passes it on to
    # its child only): pass it on. Ctrl-C reaches the terminal's whole process group, honcho
    # included, so it is not passed on again (honcho would say "SIGINT received" once more).
    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, interrupted)
    while True:
        try:
            returncode = process.wait(timeout=0.5)
            break
        except subprocess.TimeoutExpired:
            if stopping_since and time.monotonic() - stopping_since[0] > stop_grace:
                # honcho 2.0 waits for ever for a process wrapper that a Ctrl-C reached while it
                # was starting (it dies without telling honcho). Its processes had their signal.
                print(
                    f"config.processes: honcho did not stop within {stop_grace:.0f} s; stopped it.",
                    file=sys.stderr,
                    flush=True,
                )
                process.kill()
                process.wait()
                return 0
    return 0 if returncode in STOPPED_BY_SIGNAL else returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
