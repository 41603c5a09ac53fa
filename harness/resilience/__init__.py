"""Resilience primitives: circuit breaker, retry, timeout, bulkhead, rate limiter, fallbacks,
degradation and pipelines that compose them. Sync and async, on an injected clock."""

from harness.resilience.breaker import (
    BreakerCore,
    BreakerMetrics,
    CircuitBreaker,
    CircuitBreakerConfig,
    CircuitState,
    StateTransition,
    WindowType,
)
from harness.resilience.errors import (
    BulkheadFull,
    CircuitOpenError,
    OperationTimeout,
    RateLimited,
    ResilienceError,
)
from harness.resilience.events import EventKind, ResilienceEvent
from harness.resilience.retry import GiveUp, Jitter, Retry, RetryBudget, RetryConfig, RetryPolicy

__all__ = [
    "BreakerCore",
    "BreakerMetrics",
    "BulkheadFull",
    "CircuitBreaker",
    "CircuitBreakerConfig",
    "CircuitOpenError",
    "CircuitState",
    "EventKind",
    "GiveUp",
    "Jitter",
    "OperationTimeout",
    "RateLimited",
    "ResilienceError",
    "ResilienceEvent",
    "Retry",
    "RetryBudget",
    "RetryConfig",
    "RetryPolicy",
    "StateTransition",
    "WindowType",
]
