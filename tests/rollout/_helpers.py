"""Small builders shared by the rollout tests."""

from harness.rollout import (
    Analysis,
    CanaryConfig,
    CanaryFlow,
    SetWeight,
    VersionModel,
    Window,
    synthetic_window,
)
from harness.seeding import Seeds
from harness.stats import EffectSize, JudgeConfig, MetricConfig

LATENCY = MetricConfig(name="latency", effect=EffectSize.P95_RATIO, allowed_increase=1.05)
ERRORS = MetricConfig(name="error_rate", allowed_increase=1.25, min_samples=100)


def canary_config(**kwargs: object) -> CanaryConfig:
    """A two-step canary judged on p95 latency and error rate."""
    base: dict[str, object] = {
        "baseline": "v1",
        "candidate": "v2",
        "steps": (SetWeight(20), Analysis(windows=3), SetWeight(50), Analysis(windows=3)),
        "judge": JudgeConfig(metrics=(LATENCY, ERRORS), shift_estimate=False),
    }
    base.update(kwargs)
    return CanaryConfig(**base)  # type: ignore[arg-type]


def run_canary(
    flow: CanaryFlow, seed: int, candidate: VersionModel, *, requests: int = 10_000, sample: int | None = 2000
) -> CanaryFlow:
    """Drive ``flow`` with synthetic 10-second windows until it finishes."""
    rng = Seeds(seed).numpy("canary/windows")
    models = {"v1": VersionModel(), "v2": candidate}
    t = 0.0
    while not flow.terminal:
        window = synthetic_window(
            rng,
            start=t,
            end=t + 10,
            requests=requests,
            weights=flow.weights,
            models=models,
            latency_sample=sample,
        )
        flow.observe(window)
        t += 10
    return flow


def window(t: float, **versions: object) -> Window:
    """A window at ``t`` with the given VersionWindows."""
    return Window(start=t, end=t + 10, versions=versions)  # type: ignore[arg-type]
