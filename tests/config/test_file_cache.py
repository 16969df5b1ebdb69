from __future__ import annotations

import threading
import time

from config.cache import FileCache


def _winners(caches: list[FileCache]) -> int:
    """How many of the caches win `add` of the same key when all try at the same moment."""
    start = threading.Barrier(len(caches))
    wins: list[bool] = []

    def contend(cache: FileCache) -> None:
        start.wait()
        wins.append(cache.add("lock", "me", timeout=30))

    threads = [threading.Thread(target=contend, args=(c,)) for c in caches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return wins.count(True)


def test_exactly_one_of_many_concurrent_adds_wins(tmp_path):
    assert _winners([FileCache(str(tmp_path), {}) for _ in range(16)]) == 1


def test_an_expired_entry_can_be_added_again(tmp_path):
    cache = FileCache(str(tmp_path), {})
    assert cache.add("lock", "first", timeout=1)
    assert not cache.add("lock", "second", timeout=1)
    time.sleep(1.1)
    assert cache.add("lock", "third", timeout=1)
    assert cache.get("lock") == "third"


def test_it_lets_exactly_one_contender_take_over_an_expired_entry(tmp_path):
    for attempt in range(20):
        folder = str(tmp_path / str(attempt))
        FileCache(folder, {}).set("lock", "stale", timeout=0)  # written already expired
        winners = _winners([FileCache(folder, {}) for _ in range(16)])
        assert winners == 1, f"attempt {attempt}: {winners} winners"
