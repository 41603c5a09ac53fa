"""Rollout flows as sans-IO controllers: ``observe(window) -> Decision``.

Versions and their registry, the router (weighted sticky split and mirroring), and the flows:
shadow, canary, champion-challenger and rollback. Every decision carries its reasons.
"""

from harness.rollout.canary import Analysis, CanaryConfig, CanaryFlow, CanaryPhase, Pause, SetWeight, Step
from harness.rollout.champion import (
    Allocation,
    ChampionChallengerConfig,
    ChampionChallengerFlow,
    Goal,
    Guardrail,
)
from harness.rollout.collect import WindowBuilder
from harness.rollout.contract import (
    Action,
    Decision,
    Exchange,
    Flow,
    Outcome,
    Reason,
    Verdict,
    VersionWindow,
    Window,
    parse_enum,
)
from harness.rollout.registry import RegistryEvent, VersionRegistry
from harness.rollout.rollback import RollbackConfig, RollbackEvent, RollbackMode, RollbackPhase, RollbackPlan
from harness.rollout.router import MirrorConfig, MirrorOutcome, Router, validate_weights
from harness.rollout.shadow import FieldReport, ShadowConfig, ShadowFlow, flatten
from harness.rollout.simulate import OperatingPoint, VersionModel, calibrate, synthetic_window
from harness.rollout.versions import (
    Compatibility,
    Lifecycle,
    SemVer,
    Version,
    VersionQuarantined,
    compatibility,
)

__all__ = [
    "Action",
    "Allocation",
    "Analysis",
    "CanaryConfig",
    "CanaryFlow",
    "CanaryPhase",
    "ChampionChallengerConfig",
    "ChampionChallengerFlow",
    "Compatibility",
    "Decision",
    "Exchange",
    "FieldReport",
    "Flow",
    "Goal",
    "Guardrail",
    "Lifecycle",
    "MirrorConfig",
    "MirrorOutcome",
    "OperatingPoint",
    "Outcome",
    "Pause",
    "Reason",
    "RegistryEvent",
    "RollbackConfig",
    "RollbackEvent",
    "RollbackMode",
    "RollbackPhase",
    "RollbackPlan",
    "Router",
    "SemVer",
    "SetWeight",
    "ShadowConfig",
    "ShadowFlow",
    "Step",
    "Verdict",
    "Version",
    "VersionModel",
    "VersionQuarantined",
    "VersionRegistry",
    "VersionWindow",
    "Window",
    "WindowBuilder",
    "calibrate",
    "compatibility",
    "flatten",
    "parse_enum",
    "synthetic_window",
    "validate_weights",
]
