"""One producer process of the broker stress test: `python -m tests.config.stress_producer
FIRST COUNT` sends messages numbered FIRST .. FIRST+COUNT-1 through the configured broker."""

from __future__ import annotations

import sys

from config.celery import app


def main(first: int, count: int) -> None:
    with app.producer_or_acquire() as producer:
        for number in range(first, first + count):
            app.send_task("darkroom.tests.record", args=(number,), producer=producer)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
