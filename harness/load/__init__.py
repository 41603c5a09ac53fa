"""Load: profiles as data, an open-model driver with corrected latency, and a Locust runner.

* Profiles (:class:`ConstantArrival`, :class:`StepLoad`, :class:`RampLoad`, :class:`SpikeLoad`,
  :class:`SoakLoad`, :class:`DiurnalLoad`, composed with ``a.then(b)``) give a target arrival rate
  over time; :func:`arrival_times` turns one into intended start times.
* :class:`OpenModelDriver` sends on schedule (:class:`FastHttpTarget`, :class:`HttpTarget` or
  Python callables) and reports latency measured from the intended start (coordinated omission
  corrected) beside service time.
* :func:`run_locust` runs Locust headless in subprocesses (this process never imports Locust or
  gevent), alone or as a master with local workers, and parses its statistics.
* :class:`Threshold` checks results k6-style (``p99 < 300ms``); failures exit with
  :data:`EXIT_THRESHOLDS`, a run the driver could not keep up with with :data:`EXIT_DRIVER_BOUND`,
  one in which no request succeeded with :data:`EXIT_NO_SUCCESS`.
"""

from harness._extras import require

require("stats", __name__)

from harness._lazy import Renamed, lazy_exports
from harness.load.driver import DriverConfig, DriverResult, OpenModelDriver
from harness.load.fasthttp import FastHttpTarget
from harness.load.locust_runner import (
    EndpointStats,
    LocustConfig,
    LocustResult,
    LocustRunError,
    run_locust,
    run_locust_async,
)
from harness.load.profiles import (
    ArrivalProcess,
    ConstantArrival,
    DiurnalLoad,
    Profile,
    RampLoad,
    SequenceLoad,
    SoakLoad,
    SpikeLoad,
    StepLoad,
    arrival_times,
    profile_from_dict,
    profile_to_dict,
)
from harness.load.targets import CallableTarget, HttpTarget, RemoteTargetRefused, ScheduledTarget, Target
from harness.load.thresholds import (
    EXIT_DRIVER_BOUND,
    EXIT_NO_SUCCESS,
    EXIT_THRESHOLDS,
    Comparison,
    Threshold,
    ThresholdOutcome,
    ThresholdReport,
    ThresholdsFailed,
    evaluate_thresholds,
)

__all__ = [
    "EXIT_DRIVER_BOUND",
    "EXIT_NO_SUCCESS",
    "EXIT_THRESHOLDS",
    "ArrivalProcess",
    "CallableTarget",
    "Comparison",
    "ConstantArrival",
    "DiurnalLoad",
    "DriverConfig",
    "DriverResult",
    "EndpointStats",
    "FastHttpTarget",
    "HttpTarget",
    "LocustConfig",
    "LocustResult",
    "LocustRunError",
    "OpenModelDriver",
    "Profile",
    "RampLoad",
    "RemoteTargetRefused",
    "ScheduledTarget",
    "SequenceLoad",
    "SoakLoad",
    "SpikeLoad",
    "StepLoad",
    "Target",
    "Threshold",
    "ThresholdOutcome",
    "ThresholdReport",
    "ThresholdsFailed",
    "arrival_times",
    "evaluate_thresholds",
    "profile_from_dict",
    "profile_to_dict",
    "run_locust",
    "run_locust_async",
]

_RENAMED = {
    "ensure_loopback": Renamed("harness.load.targets", "ensure_loopback"),
    "LatencyRecorder": Renamed("harness.stats", "LatencyRecorder"),
    "LatencySummary": Renamed("harness.stats", "LatencySummary"),
}
"""Names this package exported before, for one release: each read warns and names the new home."""

__getattr__, __dir__ = lazy_exports(__name__, {}, renamed=_RENAMED)
