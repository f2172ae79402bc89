"""The spec language's async jobs: a request answered with a job id, polled until it ends.

`response.job` (in models.py) is made of these parts: where the job's status is read and what it
must say (`JobPoll`), and where its per-record results are paged from (`JobPage`, which
models.py combines with `ResponseSpec` so the results are read like any answer's).
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: The one path parameter of a job's poll and results paths: the job's id, as the submit answer gave it.
JOB_ID = "job_id"

_PARAMETER = re.compile(r"\{([^{}]*)\}")


def job_path_problem(path: str) -> str | None:
    """Why `path` cannot be a job path (it must start with / and use no parameter but {job_id}), or None."""
    if not path.startswith("/"):
        return f"'{path}' must start with / (a path on the destination's base URL)"
    others = [name for name in _PARAMETER.findall(path) if name != JOB_ID]
    if others:
        return (f"'{path}' uses {{{others[0]}}}, but the only parameter of a job path is {{{JOB_ID}}} "
                "(the id the submit answer gave)")
    return None


def _job_path(value: str) -> str:
    problem = job_path_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class JobPoll(_Strict):
    """`job.poll`: where the job's status is read, and the expressions that say it has ended."""

    path: str = Field(description="GET path of the job's status, e.g. /api/jobs/{job_id}")
    until: str = Field(description="JMESPath over the status answer, true once the job has completed, "
                       "e.g. data.attributes.status == 'complete'")
    failed: str | None = Field(
        default=None, description="JMESPath over the status answer, true when the job ended without applying "
        "the records (failed, cancelled): they are dead-lettered as job_unfinished")
    interval: float = Field(default=2.0, gt=0, le=3600, description="seconds between two polls")
    timeout: float = Field(default=600.0, gt=0, le=86_400, description="seconds after which a job that has not "
                           "ended is given up: its records are dead-lettered as job_unfinished")

    _path = field_validator("path")(_job_path)


class JobPage(_Strict):
    """Where a job's per-record results are read from, a page at a time."""

    path: str = Field(description="GET path of the job's per-record results, e.g. /api/jobs/{job_id}/errors")
    next: str | None = Field(
        default=None, description="JMESPath to the next page's URL (or path) in a page; none or empty: the last "
        "page. A URL on another host is never followed")

    _path = field_validator("path")(_job_path)


__all__ = ["JOB_ID", "JobPage", "JobPoll", "job_path_problem"]
