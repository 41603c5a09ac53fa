"""A live request kind's ``check:`` is the load driver's response check (one implementation)."""

from __future__ import annotations

import pytest

from harness.load.checks import CheckFailed
from harness.scenario.live_versions import check_response
from harness.scenario.model import ResponseCheck


def test_a_scenario_check_holds_on_status_json_fields_and_substring() -> None:
    check = ResponseCheck.model_validate({"status": [200], "json": {"ok": True, "order.state": "paid"}})
    assert check_response(check, 200, '{"ok": true, "order": {"state": "paid"}}')["ok"] is True
    with pytest.raises(CheckFailed, match="is 'open', not 'paid'"):
        check_response(check, 200, '{"ok": true, "order": {"state": "open"}}')
    with pytest.raises(CheckFailed, match="HTTP 201"):
        check_response(check, 201, "{}")
    with pytest.raises(CheckFailed, match="does not contain 'fig'"):
        check_response(ResponseCheck.model_validate({"contains": "fig"}), 200, "pear")


def test_without_a_check_a_status_below_400_succeeds() -> None:
    assert check_response(None, 204, "") is None
    with pytest.raises(CheckFailed, match="HTTP 500"):
        check_response(None, 500, "oops")
