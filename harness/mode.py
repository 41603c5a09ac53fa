"""Whether a run is simulated or live: one enum for the scenario engines, the reports and the CLI."""

from __future__ import annotations

import enum

__all__ = ["Mode"]


class Mode(enum.StrEnum):
    """Where a run happens: on virtual time with models (simulated) or against real services (live)."""

    SIMULATED = "simulated"
    LIVE = "live"
