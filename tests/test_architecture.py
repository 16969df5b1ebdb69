"""The import rules of shared/architecture.md, read from the source with `ast`.

Background work is started one way: views call services; services send tasks by name through
`config.celery`; tasks import services, never the reverse.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ("accounts", "api", "gallery")
TASK_MODULES = {f"{app}.tasks" for app in APPS}
SENDERS = {"send_task", "send_task_on_commit"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def app_sources() -> Iterator[Path]:
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, relative imports resolved, `from a import b` counted as both
    `a` and `a.b` (b may be a module)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            found.add(source)
            found.update(f"{source}.{alias.name}" for alias in node.names)
    return found


def is_service(name: str) -> bool:
    return name.startswith(("gallery.services", "gallery.selectors")) or name in {
        "accounts.services",
        "accounts.credentials",
        "accounts.notifications",
        "accounts.connection",
        "accounts.selectors",
    }


def is_view(name: str) -> bool:
    return name.split(".")[-1] == "views" or ".views." in f"{name}."


def test_it_reads_the_modules_the_rules_are_about():
    names = {module_name(path) for path in app_sources()}
    assert {
        "gallery.views.images",
        "accounts.views.members",
        "gallery.services.jobs",
        "accounts.connection",
    } <= (names)
    assert imported_modules(ROOT / "gallery" / "tasks.py") >= {"gallery.services.runner"}
    assert {module_name(path) for path in RULED} >= {
        "gallery.views.generate",
        "gallery.services.sync",
        "gallery.selectors.images",
        "accounts.notifications",
    }


RULED = [p for p in app_sources() if is_service(module_name(p)) or is_view(module_name(p))]


@pytest.mark.parametrize("path", RULED, ids=module_name)
def test_no_service_or_view_imports_a_tasks_module(path):
    name = module_name(path)
    tasks_imported = imported_modules(path) & TASK_MODULES
    assert not tasks_imported, (
        f"{name} imports {', '.join(sorted(tasks_imported))}: start background work with a "
        "service's *_request() function, which sends the task by name (config.celery)"
    )


def sent_task_names() -> Iterator[tuple[str, object]]:
    """(module, first argument) of every send_task / send_task_on_commit call in app code."""
    for path in app_sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called in SENDERS:
                    first = node.args[0] if node.args else None
                    value = first.value if isinstance(first, ast.Constant) else ast.dump(first)
                    yield module_name(path), value


def test_every_task_sent_by_name_is_one_the_worker_registers():
    from config.celery import app

    app.loader.import_default_modules()
    registered = set(app.tasks)
    sent = list(sent_task_names())
    assert len(sent) >= 7  # run_job, refresh_quota, refresh_catalog, sync, files, delete, check
    for module, name in sent:
        assert isinstance(name, str), f"{module} sends a task whose name is not a literal"
        assert name in registered, f"{module} sends {name!r}, which no worker registers"


def test_no_app_code_or_template_decides_a_provider_fact_by_its_kind():
    """Whether a provider has a history, a quota in money… is `credential.capabilities`."""
    pattern = re.compile(r"""kind\s*(==|!=)\s*["']nanogpt["']""")
    sources = [*app_sources(), *sorted((ROOT / "templates").rglob("*.html"))]
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sources
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


def test_the_apps_provider_kinds_are_the_providers_package_kinds():
    from accounts.models import ProviderKind
    from providers import PROVIDER_KINDS

    assert sorted(ProviderKind.values) == sorted(PROVIDER_KINDS)
