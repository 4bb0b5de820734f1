"""Benchmarks: the leaderboards and test sets claims are made on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from registry.ledger import PUBLIC
from registry.models import Benchmark
from registry.roles import ANALYST, AnyUser
from registry.services._base import record_change, record_insert, require_role, writing


def benchmark_create(*, actor: AnyUser | None, fields: Mapping[str, Any]) -> Benchmark:
    require_role(actor, ANALYST, doing="record benchmarks")
    with writing():
        return record_insert(model=Benchmark, actor=actor, fields=fields, scope=PUBLIC)


def benchmark_update(
    *, actor: AnyUser | None, benchmark: Benchmark, fields: Mapping[str, Any]
) -> Benchmark:
    require_role(actor, ANALYST, doing="change benchmarks")
    with writing():
        return record_change(instance=benchmark, actor=actor, fields=fields, scope=PUBLIC)
