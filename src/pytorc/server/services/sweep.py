"""The safety-net sweep: completion unblocks dependents itself, so this should find nothing.

Every `completion_check_interval_secs` it recounts blocked jobs whose counter says they are free
(or went negative) and readies those whose upstream really is all done — guarding against any
path that changed a status without the bookkeeping. What it fixes is logged as a warning.
"""

from __future__ import annotations

import asyncio
import logging

from pytorc.server.db.common import dumps
from pytorc.server.db.connection import Database
from pytorc.server.services.completion import recount, release_dependents
from pytorc.vocabulary import DONE, FAILING, JobStatus

log = logging.getLogger(__name__)

_DONE = ",".join(str(s.code) for s in DONE)
_FAILING = ",".join(str(s.code) for s in FAILING)


async def run_forever(db: Database, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            n = await asyncio.to_thread(sweep_once, db)
            if n:
                log.warning("sweep released %d blocked jobs that completion had missed", n)
        except Exception:
            log.exception("sweep failed")


_UNBLOCKED_SUSPECTS = (
    f"SELECT id FROM job WHERE status = {JobStatus.BLOCKED.code} AND num_blocking <= 0"
)


def sweep_once(db: Database) -> int:
    """Ready (or cancel) blocked jobs with no unfinished upstream; returns how many changed."""
    with db.transaction() as conn:
        suspects = [r[0] for r in conn.execute(_UNBLOCKED_SUSPECTS)]
        if not suspects:
            return 0
        recount(conn, suspects)
        rows = conn.execute(
            f"""SELECT j.id, j.cancel_on_blocking_job_failure,
                       EXISTS (SELECT 1 FROM job_depends_on d
                                JOIN job u ON u.id = d.depends_on_job_id
                                WHERE d.job_id = j.id AND u.status IN ({_FAILING})) AS failing
                  FROM job j
                 WHERE j.id IN (SELECT value FROM json_each(?)) AND j.num_blocking = 0""",
            (dumps(suspects),),
        ).fetchall()
        for job_id, cancel_on_failure, failing in rows:
            new = JobStatus.CANCELED if (failing and cancel_on_failure) else JobStatus.READY
            conn.execute("UPDATE job SET status = ? WHERE id = ?", (new.code, job_id))
            if new == JobStatus.CANCELED:
                release_dependents(conn, job_id, new)
        return len(rows)
