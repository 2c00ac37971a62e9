"""A small per-app memo of rendered slot lists.

The slot list is a pure function of the therapist's row, their windows, days off and held time,
the minute, the visitor's zone and the week shown. The row carries a schedule version that
database triggers move with every change to the other three (migration 0007), so a key of the row
and the visitor's view needs no invalidation: a booking on any server moves the version, and the
next request here misses.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")


class Memo:
    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_make(self, key: Hashable, make: Callable[[], T]) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]  # type: ignore[return-value]
        value = make()  # outside the lock: two misses may both render, both get the same text
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._items)
