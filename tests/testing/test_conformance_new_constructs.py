"""The conformance suite checks the issue-9 constructs for any spec that uses them: a mirror round trip
for an action with `remove:`, one record per listed failure for a failures-only answer, one value per
column for positional rows, and every job ending with one outcome per record."""

from __future__ import annotations

from typing import Any

from mirror_kit import AUDIENCE, TOKEN, Audience, create_app, spec

from destkit.testing import run_conformance
from destkit.testing.report import ActionReport
from destkit.testing.suite import Suite
from destkit.testing.suite_failures import FAILURES_CHECK
from destkit.testing.suite_mirror import MIRROR_CHECK, dropped_rows, mirror_round_trip
from destkit.testing.suite_shapes import POSITIONAL_CHECK

JOB_CHECK = "emulator: every job ends and each of its records has exactly one outcome"


def _check(destination: str, action: str, name: str) -> tuple[str, str]:
    report = run_conformance(destination, examples=6, seed=0, actions=[action])
    [check] = [c for c in report.action(action).checks if c.name == name]
    return check.status, check.message


def test_the_second_mirror_run_leaves_out_every_third_record() -> None:
    assert dropped_rows(7) == [1, 4, 7]


def test_a_mirror_round_trip_removes_exactly_the_members_left_out() -> None:
    # fails without removal requests numbered as a session: Meta refuses a DELETE with no session_id
    assert _check("meta_custom_audiences", "add_users", MIRROR_CHECK) == (
        "passed", "6 added, 2 left out and removed (2 in the summary)")


def test_every_listed_failure_of_a_failures_only_answer_rejects_exactly_one_record() -> None:
    assert _check("braze", "track_users", FAILURES_CHECK) == (
        "passed", "3 of 6 records listed as failed, each rejected once; the rest delivered")


def test_every_positional_row_has_one_value_per_column() -> None:
    assert _check("meta_custom_audiences", "add_users", POSITIONAL_CHECK) == (
        "passed", "6 rows of 6 columns (EXTERN_ID, EMAIL, PHONE, FN, LN, COUNTRY)")


def test_every_job_ends_with_one_outcome_per_record() -> None:
    assert _check("klaviyo", "import_profiles_to_list", JOB_CHECK) == ("passed", "6 records through jobs, 6 x delivered/-")


class _Everyone(set[str]):
    def __contains__(self, item: object) -> bool:
        return True


def _mirror_suite(audience: Audience) -> tuple[Suite, ActionReport, Any]:
    suite = Suite(spec(), "mirror_emulator", examples=5, seed=0)
    suite.create_app, suite.emulator_problem = (lambda: create_app(audience)), None
    report = ActionReport("sync_members")
    plan = suite.plan("sync_members", report)
    assert plan is not None
    plan.profile = {"app_options": {}, "settings": {"audience_id": AUDIENCE}, "secrets": {"token": TOKEN},
                    "fetch_catalogs": False}
    assert suite.draw(plan, report)
    return suite, report, plan


def test_a_destination_that_refuses_removals_fails_the_mirror_check() -> None:
    suite, report, plan = _mirror_suite(Audience(refuse_removal=_Everyone()))

    mirror_round_trip(suite, plan, {}, report)

    [check] = report.checks
    assert (check.name, check.status) == (MIRROR_CHECK, "failed")
    assert all("rejected" in line and "LOCKED" in line for line in check.details if line.startswith("removal of"))


def test_a_destination_that_removes_passes_the_mirror_check_and_ends_with_the_kept_members() -> None:
    audience = Audience()
    suite, report, plan = _mirror_suite(audience)

    mirror_round_trip(suite, plan, {}, report)

    [check] = report.checks
    assert (check.name, check.status) == (MIRROR_CHECK, "passed"), check.details
    valid = [plan.records[row - 1]["email"].strip().lower() for row in plan.valid_rows]
    kept = {e for i, e in enumerate(valid, 1) if i not in dropped_rows(len(valid))}
    assert audience.members == kept
