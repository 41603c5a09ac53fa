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
    Alternative,
    FallbackChain,
    FallbackManager,
    FallbackMetrics,
    FallbackMode,
    FallbackRules,
    FallbackTransition,
)
from harness.resilience.pipeline import Pipeline, Strategy
from harness.resilience.ratelimit import Gcra, RateLimiter, RateLimiterConfig, SharedRateLimiter
from harness.resilience.retry import GiveUp, Jitter, Retry, RetryBudget, RetryConfig, RetryPolicy
from harness.resilience.shared import SharedCircuitBreaker, SharedState, is_valid_sequence
from harness.resilience.timeout import Timeout

__all__ = [
    "Alternative",
    "BreakerCore",
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
    "FallbackChain",
    "FallbackManager",
    "FallbackMetrics",
    "FallbackMode",
    "FallbackRules",
    "FallbackTransition",
    "FeaturePriority",
    "Gcra",
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
    "RetryPolicy",
    "SharedCircuitBreaker",
    "SharedRateLimiter",
    "SharedState",
    "StateTransition",
    "Strategy",
    "Timeout",
    "WindowType",
    "is_valid_sequence",
    "journal_listener",
]
