"""config.processes, what `make run` and `make prod` start their processes with: the real
environment beats `.env`, JSON logs stay JSON, and SIGTERM stops everything and is no error."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHOW = (
    f'{sys.executable} -c "import os; '
    "print('KEY=' + os.environ['SECRET_KEY'], 'PORT=' + os.environ['WEB_PORT'], flush=True)\""
)


def _run(
    tmp_path: Path, procfile: str, *, own_group: bool = False, **env: str
) -> subprocess.Popen[str]:
    (tmp_path / "Procfile").write_text(procfile)
    # Where honcho would look for one: the Procfile's folder, as the project's .env is.
    (tmp_path / ".env").write_text("SECRET_KEY=from-dotenv\nLOG_FORMAT=plain\nWEB_PORT=8123\n")
    return subprocess.Popen(
        [sys.executable, "-m", "config.processes", str(tmp_path / "Procfile")],
        cwd=ROOT, env={**os.environ, "ENV_FILE": str(tmp_path / ".env"), **env},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=own_group,
    )  # fmt: skip


def test_the_real_environment_beats_the_env_file_which_fills_in_the_rest(tmp_path, monkeypatch):
    monkeypatch.delenv("WEB_PORT", raising=False)
    run = _run(tmp_path, f"show: {SHOW}\n", SECRET_KEY="from-environment")
    output, _ = run.communicate(timeout=60)
    assert "KEY=from-environment PORT=8123" in output
    assert "from-dotenv" not in output
    assert "show.1 | KEY=" in output  # plain logs keep honcho's prefixes


def test_json_logs_get_no_prefix_so_each_line_stays_json(tmp_path):
    run = _run(tmp_path, f"show: {SHOW}\n", SECRET_KEY="k", LOG_FORMAT="json")
    output, _ = run.communicate(timeout=60)
    assert "\nKEY=k PORT=" in f"\n{output}"
    assert "show.1 |" not in output


def _started(tmp_path: Path, *, own_group: bool = False) -> subprocess.Popen[str]:
    """Both processes up. honcho starts each through a wrapper process that ignores signals only
    once its child is running: a Ctrl-C in the first instant reaches a wrapper still starting,
    which dies of it, and honcho then waits for it for ever (honcho 2.0's own race). So the
    test waits until each process has written its marker, long after its wrapper is ready."""
    markers = [tmp_path / "a-alive", tmp_path / "b-alive"]
    procfile = "".join(
        f"{name}: {sys.executable} -c \"import time; open('{marker}', 'w').close(); "
        'time.sleep(60)"\n'
        for name, marker in zip("ab", markers, strict=True)
    )
    run = _run(tmp_path, procfile, own_group=own_group, SECRET_KEY="k")
    deadline = time.monotonic() + 30
    while not all(marker.exists() for marker in markers):
        assert run.poll() is None
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(0.2)
    return run


def test_sigterm_stops_every_process_and_is_not_an_error(tmp_path):
    run = _started(tmp_path)
    run.send_signal(signal.SIGTERM)  # to this process alone, as make passes it on
    output, _ = run.communicate(timeout=30)
    assert run.returncode == 0, output
    assert "a.1 stopped" in output
    assert "b.1 stopped" in output


def test_ctrl_c_stops_every_process_once(tmp_path):
    run = _started(tmp_path, own_group=True)
    os.killpg(run.pid, signal.SIGINT)  # what a terminal does: the whole foreground group
    output, _ = run.communicate(timeout=30)
    assert run.returncode == 0, output
    assert "a.1 stopped" in output
    assert "b.1 stopped" in output
    assert output.count("SIGINT received") == 1, output


STUCK = """
import os, signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
open(sys.argv[1], "w").write(str(os.getpid()))
time.sleep(120)
"""


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_a_honcho_that_never_ends_after_the_signal_is_stopped_after_the_grace(tmp_path, how):
    """honcho 2.0 can wait for ever after a Ctrl-C that reached a process wrapper still starting;
    a stand-in that ignores every signal shows that the run still ends, cleanly."""
    pid_file = tmp_path / "stuck.pid"
    supervisor = (
        "import os, sys; from pathlib import Path; from config.processes import supervise; "
        f"sys.exit(supervise([sys.executable, '-c', {STUCK!r}, {str(pid_file)!r}], "
        "cwd=Path('.'), env=os.environ, stop_grace=2))"
    )
    run = subprocess.Popen(
        [sys.executable, "-c", supervisor], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not pid_file.exists() or not pid_file.read_text():
        assert run.poll() is None
        assert time.monotonic() < deadline
        time.sleep(0.1)
    stuck = int(pid_file.read_text())
    if how == "ctrl-c":
        os.killpg(run.pid, signal.SIGINT)
    else:
        run.send_signal(signal.SIGTERM)
    started = time.monotonic()
    output, _ = run.communicate(timeout=30)
    assert run.returncode == 0, output
    assert "honcho did not stop within 2 s; stopped it." in output
    assert time.monotonic() - started < 10
    with pytest.raises(ProcessLookupError):
        os.kill(stuck, 0)  # gone, not left running
