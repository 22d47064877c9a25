"""Blocking database calls (synchronous SQLAlchemy) off the event loop: ``await run_db(fn, *args)``
runs ``fn`` in a small bounded thread pool, so a slow query delays its own request only."""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional, TypeVar

T = TypeVar("T")

DEFAULT_WORKERS = 4  # below SQLAlchemy's default pool of 5 connections: a worker never waits for one


class DbRunner:
    """Callable as ``await run_db(fn, *args, **kwargs)``. Until ``open`` (a server listener) it uses
    the loop's default executor, so the services it is given to work in tests without a server."""

    def __init__(self, max_workers: int = DEFAULT_WORKERS) -> None:
        self.max_workers = max_workers
        self._executor: Optional[ThreadPoolExecutor] = None

    def open(self) -> None:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.max_workers, thread_name_prefix="gateway-db")

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    async def __call__(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))
