"""`manage.py compilemessages` without GNU gettext: Django's own command needs msgfmt, which a
bare machine lacks, so this app's command (apps win over Django's) compiles with polib."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from config.translations import LOCALE_DIR, compile_all


class Command(BaseCommand):
    help = "Compile locale/*/LC_MESSAGES/*.po into .mo files (pure Python, no msgfmt needed)."

    def handle(self, *args: Any, **options: Any) -> None:
        for path in compile_all():
            if options["verbosity"] > 0:
                self.stdout.write(f"compiled {path.relative_to(LOCALE_DIR.parent)}")
