"""The Redis cache backend, with one client object per connection pool, and the request
counter the throttles share (``count_and_read``).

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` for every cache
call, and each build fills a table of some 170 response callbacks: a tenth of a
millisecond twice per API request (the throttle's read and write), more than the rest
of a proof request's cache work. A client is thread-safe and takes a connection from its
pool per command, so one per pool does the same work.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class _ClientPerPool(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # Django's own choice of pool (its stubs leave the private method out).
        index = self._get_connection_pool_index(write)  # type: ignore[attr-defined]
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = super().get_client(key, write=write)
        return client


def count_and_read(cache: Any, key: str, other: str, timeout: int) -> tuple[int, int]:
    """Add one to the integer at ``key`` (kept ``timeout`` seconds) and read the one at
    ``other``: (``key``'s new count, ``other``'s count, 0 if absent).

    The increment is atomic, so concurrent requests each count; a read followed by a
    write would lose some. On Redis it is one round trip; elsewhere (the in-process
    cache of the embedded default) three calls of Django's cache API.
    """
    pipelined = getattr(cache, "count_and_read", None)  # also through django's cache proxy
    if pipelined is not None:
        result: tuple[int, int] = pipelined(key, other, timeout)
        return result
    cache.add(key, 0, timeout)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.set(key, count := 1, timeout)
    return count, cache.get(other, 0)


class RegistryRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _ClientPerPool
        # Build the client now, not on the first cache call: it imports redis (some 60 ms),
        # and config/wsgi.py creates the cache before gunicorn forks its workers. No
        # connection is opened; the pool makes its own in each process.
        self._cache  # noqa: B018

    def count_and_read(self, key: str, other: str, timeout: int) -> tuple[int, int]:
        """``count_and_read`` in one pipeline. Both keys hold what INCR wrote: a plain
        integer, which Django's serializer would read back the same way."""
        key, other = self.make_and_validate_key(key), self.make_and_validate_key(other)
        client = self._cache.get_client(key, write=True)
        with client.pipeline(transaction=False) as pipeline:
            pipeline.incr(key)
            pipeline.expire(key, timeout)
            pipeline.get(other)
            count, _, previous = pipeline.execute()
        return int(count), int(previous or 0)
