"""Hypothesis settings shared by the fuzzers: bounded examples and time per example, no example
database (runs stay independent), and the health checks that a live server makes noisy turned off."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, settings


def fuzz_settings(max_examples: int, deadline_seconds: float) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=timedelta(seconds=deadline_seconds),
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                               HealthCheck.data_too_large],
    )
