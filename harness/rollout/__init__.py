"""Rollout flows as sans-IO controllers: ``observe(window) -> Decision``.

Versions and their registry (lineage, history, migration paths, integrity); the router (a
weighted split, sticky per key or seeded per request, for one request or a whole window at once)
and the mirror pool that carries its decisions out; and the flows: shadow, canary,
champion-challenger, rollback (which can choose its target from the lineage) and the ChAP-style
chaos experiment (control and experiment groups, aborted on user harm). Every decision carries its
reasons.
"""

from harness._extras import require

require("stats", __name__)

from harness._lazy import Renamed, lazy_exports
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
    VersionWindow,
    Window,
)
from harness.rollout.experiment import ExperimentConfig, ExperimentFlow, HarmBudget
from harness.rollout.history import (
    HistoryEntry,
    HistoryEvent,
    HistoryKind,
    ProductionSpell,
    RolloutRoles,
    VersionStats,
    decisions_from_journal,
    events_from_decisions,
)
from harness.rollout.integrity import ArtifactSource, ChecksumMismatch, MemoryArtifacts
from harness.rollout.lineage import Lineage, LineageNode
from harness.rollout.mirror import MirrorConfig, MirrorOutcome, MirrorPool, Route
from harness.rollout.paths import (
    MigrationAction,
    MigrationDirection,
    MigrationPath,
    MigrationRefused,
    MigrationStep,
    PathPolicy,
    PathRefusal,
    find_path,
)
from harness.rollout.registry import VersionRegistry
from harness.rollout.rollback import RollbackConfig, RollbackEvent, RollbackMode, RollbackPhase, RollbackPlan
from harness.rollout.router import Router, validate_weights
from harness.rollout.shadow import FieldReport, ShadowConfig, ShadowFlow
from harness.rollout.simulate import OperatingPoint, VersionModel, calibrate, synthetic_window
from harness.rollout.targets import TargetCandidate, TargetChoice, choose_rollback_target
from harness.rollout.versions import (
    Compatibility,
    Lifecycle,
    Migration,
    SemVer,
    Version,
    VersionQuarantined,
    compatibility,
)
from harness.stats.verdict import Verdict

__all__ = [
    "Action",
    "Allocation",
    "Analysis",
    "ArtifactSource",
    "CanaryConfig",
    "CanaryFlow",
    "CanaryPhase",
    "ChampionChallengerConfig",
    "ChampionChallengerFlow",
    "ChecksumMismatch",
    "Compatibility",
    "Decision",
    "Exchange",
    "ExperimentConfig",
    "ExperimentFlow",
    "FieldReport",
    "Flow",
    "Goal",
    "Guardrail",
    "HarmBudget",
    "HistoryEntry",
    "HistoryEvent",
    "HistoryKind",
    "Lifecycle",
    "Lineage",
    "LineageNode",
    "MemoryArtifacts",
    "Migration",
    "MigrationAction",
    "MigrationDirection",
    "MigrationPath",
    "MigrationRefused",
    "MigrationStep",
    "MirrorConfig",
    "MirrorOutcome",
    "MirrorPool",
    "OperatingPoint",
    "Outcome",
    "PathPolicy",
    "PathRefusal",
    "Pause",
    "ProductionSpell",
    "Reason",
    "RollbackConfig",
    "RollbackEvent",
    "RollbackMode",
    "RollbackPhase",
    "RollbackPlan",
    "RolloutRoles",
    "Route",
    "Router",
    "SemVer",
    "SetWeight",
    "ShadowConfig",
    "ShadowFlow",
    "Step",
    "TargetCandidate",
    "TargetChoice",
    "Verdict",
    "Version",
    "VersionModel",
    "VersionQuarantined",
    "VersionRegistry",
    "VersionStats",
    "VersionWindow",
    "Window",
    "WindowBuilder",
    "calibrate",
    "choose_rollback_target",
    "compatibility",
    "decisions_from_journal",
    "events_from_decisions",
    "find_path",
    "synthetic_window",
    "validate_weights",
]

_RENAMED = {
    "parse_enum": Renamed("harness.rollout.contract", "parse_enum"),
    "flatten": Renamed("harness.rollout.shadow", "flatten"),
}
"""Names this package exported before, for one release: each read warns and names the new home."""

__getattr__, __dir__ = lazy_exports(__name__, {}, renamed=_RENAMED)
