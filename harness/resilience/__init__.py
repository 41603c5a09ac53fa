"""Resilience primitives: circuit breaker, retry, timeout, bulkhead, rate limiter, fallbacks,
degradation and pipelines that compose them. Sync and async, on an injected clock."""

from harness._lazy import Renamed, lazy_exports
from harness.resilience.breaker import (
    BreakerMetrics,
    CircuitBreaker,
    CircuitBreakerConfig,
    CircuitState,
    StateTransition,
    WindowType,
)
from harness.resilience.bulkhead import Bulkhead, BulkheadConfig
from harness.resilience.degradation import (
    DegradationConfig,
    DegradationLevel,
    DegradationManager,
    FeaturePriority,
    LevelChange,
    ResourceThresholds,
)
from harness.resilience.errors import (
    BulkheadFull,
    CircuitOpenError,
    OperationTimeout,
    RateLimited,
    ResilienceError,
)
from harness.resilience.events import EventKind, ResilienceEvent, journal_listener
from harness.resilience.fallback import (
    Fallback,
    FallbackChain,
    FallbackManager,
    FallbackMetrics,
    FallbackMode,
    FallbackRules,
    FallbackTransition,
)
from harness.resilience.pipeline import Pipeline, Strategy
from harness.resilience.ratelimit import RateLimiter, RateLimiterConfig, SharedRateLimiter
from harness.resilience.retry import GiveUp, Jitter, Retry, RetryBudget, RetryConfig
from harness.resilience.shared import SharedCircuitBreaker
from harness.resilience.storage_guard import StoragePolicy
from harness.resilience.timeout import Timeout

__all__ = [
    "BreakerMetrics",
    "Bulkhead",
    "BulkheadConfig",
    "BulkheadFull",
    "CircuitBreaker",
    "CircuitBreakerConfig",
    "CircuitOpenError",
    "CircuitState",
    "DegradationConfig",
    "DegradationLevel",
    "DegradationManager",
    "EventKind",
    "Fallback",
    "FallbackChain",
    "FallbackManager",
    "FallbackMetrics",
    "FallbackMode",
    "FallbackRules",
    "FallbackTransition",
    "FeaturePriority",
    "GiveUp",
    "Jitter",
    "LevelChange",
    "OperationTimeout",
    "Pipeline",
    "RateLimited",
    "RateLimiter",
    "RateLimiterConfig",
    "ResilienceError",
    "ResilienceEvent",
    "ResourceThresholds",
    "Retry",
    "RetryBudget",
    "RetryConfig",
    "SharedCircuitBreaker",
    "SharedRateLimiter",
    "StateTransition",
    "StoragePolicy",
    "Strategy",
    "Timeout",
    "WindowType",
    "journal_listener",
]

_RENAMED = {
    "BreakerCore": Renamed("harness.resilience.breaker", "BreakerCore"),
    "Gcra": Renamed("harness.resilience.ratelimit", "Gcra"),
    "RetryPolicy": Renamed("harness.resilience.retry", "RetryPolicy"),
    "SharedState": Renamed("harness.resilience.shared", "SharedState"),
    "is_valid_sequence": Renamed("harness.resilience.shared", "is_valid_sequence"),
}
"""Names this package exported before, for one release: each read warns and names the new home."""

__getattr__, __dir__ = lazy_exports(__name__, {}, renamed=_RENAMED)
