"""TorcClient: the typed HTTP client every pytorc tool uses (CLI, spec upload, runners).

One keep-alive connection per thread (client/transport.py). Connection failures and
429/502/503/504 answers are retried with exponential backoff and full jitter until
`retry_seconds` have passed, so a thousand runners started at once, or a server restart, do not
fail a workflow. Requests that may have reached the server (a dropped connection after a POST was
sent) are not replayed, since replaying a claim could take jobs twice. Errors become
pytorc.errors.ApiError carrying the status and the server's message.
"""

from __future__ import annotations

import json as jsonlib
import os
import random
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pytorc.client.codec import decode
from pytorc.client.transport import ConnectFailure, HttpStatus, Transport
from pytorc.errors import ApiError

API_BASE_PATH = "/torc-service/v1"
DEFAULT_URL = f"http://localhost:8080{API_BASE_PATH}"
PAGE_SIZE = 10_000
_RETRY_STATUS = frozenset({429, 502, 503, 504})
_IDEMPOTENT = frozenset({"GET", "PUT", "DELETE", "HEAD"})

Json = Any
Params = Mapping[str, Any]


def _message(reason: str, payload: bytes) -> str:
    """The server's error message (ErrorResponse), or the body's start."""
    try:
        body = jsonlib.loads(payload)
    except ValueError:
        return payload[:500].decode(errors="replace") or reason
    if isinstance(body, dict):
        for key in ("errorMessage", "message"):
            if isinstance(body.get(key), str):
                return str(body[key])
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
    return str(body)[:500]


def with_base_path(url: str) -> str:
    """The URL without a trailing slash; a bare server URL (`http://host:8080`) gets the API's
    base path, which users leave out more often than not."""
    url = url.rstrip("/")
    _, sep, rest = url.partition("://")
    if sep and "/" not in rest:
        return f"{url}{API_BASE_PATH}"
    return url


class TorcClient:
    """A client for one torc-server; use as a context manager or call close()."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        timeout: float = 60.0,
        retry_seconds: float = 60.0,
        auth: tuple[str, str] | None = None,
        page_size: int = PAGE_SIZE,
        ca_cert: str | None = None,
    ) -> None:
        self.base_url = with_base_path(base_url or os.environ.get("TORC_API_URL") or DEFAULT_URL)
        self.retry_seconds = retry_seconds
        self.auth = auth  # kept for runners this client's user starts (see slurm/schedule.py)
        self.ca_cert = ca_cert or _env_ca_cert()
        self.page_size = page_size
        try:
            self._http = Transport(self.base_url, timeout, auth, ca_cert or _env_ca_cert())
        except ValueError as exc:
            raise ApiError(0, f"bad server URL: {exc}") from None

    def __enter__(self) -> TorcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- transport -------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Json = None,
        on_retry: Callable[[str, float], None] | None = None,
    ) -> Json:
        """Send one request with retries; the decoded JSON answer, or ApiError.

        retry_seconds is read at every retry, so lowering it (a runner that is stopping)
        shortens requests already waiting for the server. `on_retry(failure, seconds since
        the first try)` is called before each wait, e.g. to tell a user the server is away."""
        started = time.monotonic()
        delay = 0.05
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        while True:
            try:
                status, reason, payload = self._http.send(method, path, clean, json)
            except ConnectFailure as exc:
                failure: str = f"cannot reach {self.base_url}: {exc}"
            except OSError as exc:  # includes transport.ProtocolError
                if method not in _IDEMPOTENT:
                    raise ApiError(0, f"{method} {path} failed in transit: {exc}", True) from exc
                failure = f"{method} {path} failed in transit: {exc}"
            else:
                if status < 400:
                    return decode(payload) if payload else None
                if status not in _RETRY_STATUS:
                    raise ApiError(status, _message(reason, payload))
                failure = f"server answered {status}: {_message(reason, payload)}"
            # Full jitter spreads a herd of runners; a server that said when to come back
            # (503/429 Retry-After) is given that long first.
            wait = random.uniform(0, delay) + (self._http.retry_after() or 0.0)
            if time.monotonic() + wait > started + self.retry_seconds:
                raise ApiError(0, failure)
            if on_retry is not None:
                on_retry(failure, time.monotonic() - started)
            time.sleep(wait)
            delay = min(delay * 2, 10.0)

    def stream_lines(self, path: str, **params: Any) -> Iterator[str]:
        """The lines of a streamed answer (Server-Sent Events) as they arrive; ApiError if the
        server cannot be reached or refuses. No retries: the caller reconnects if it wants to."""
        clean = {k: v for k, v in params.items() if v is not None}
        partial = b""
        try:
            for data in self._http.stream(path, clean):
                *lines, partial = (partial + data).split(b"\n")
                for line in lines:
                    yield line.rstrip(b"\r").decode("utf-8", errors="replace")
        except HttpStatus as exc:
            raise ApiError(exc.status, _message(exc.reason, exc.body)) from None
        except ConnectFailure as exc:
            raise ApiError(0, f"cannot reach {self.base_url}: {exc}") from exc
        except OSError as exc:
            raise ApiError(0, f"the event stream from {self.base_url} broke: {exc}") from exc

    def get(self, path: str, **params: Any) -> Json:
        return self.request("GET", path, params=params)

    def post(self, path: str, json: Json = None, **params: Any) -> Json:
        return self.request("POST", path, params=params, json=json)

    def put(self, path: str, json: Json = None, **params: Any) -> Json:
        return self.request("PUT", path, params=params, json=json)

    def delete(self, path: str, **params: Any) -> Json:
        return self.request("DELETE", path, params=params)

    def iter_pages(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list endpoint after `offset`, at most `limit`, page by page."""
        limit = params.pop("limit", None)
        offset = int(params.pop("offset", 0) or 0)
        seen = 0
        while True:
            size = self.page_size if limit is None else min(self.page_size, limit - seen)
            if size <= 0:
                return
            page = self.get(path, offset=offset, limit=size, **params)
            yield from page["items"]
            # The access-group lists of the 0.35 models carry total_count, not count/has_more.
            count = page.get("count", len(page["items"]))
            seen += count
            offset += count
            more = page.get("has_more", offset < page.get("total_count", 0))
            if not more or count == 0:
                return

    # --- system ----------------------------------------------------------------------------

    def ping(self) -> Json:
        return self.get("/ping")

    def version(self) -> Json:
        return self.get("/version")

    # --- workflows -------------------------------------------------------------------------

    def create_workflow(self, workflow: dict[str, Any], creating: bool = False) -> dict[str, Any]:
        """`creating`: records follow; the workflow cannot run until finish_creation."""
        return dict(self.post("/workflows", workflow, creating=True if creating else None))

    def finish_creation(self, workflow_id: int) -> dict[str, Any]:
        return dict(self.post(f"/workflows/{workflow_id}/creation_complete"))

    def get_workflow(self, workflow_id: int) -> dict[str, Any]:
        return dict(self.get(f"/workflows/{workflow_id}"))

    def update_workflow(self, workflow_id: int, workflow: dict[str, Any]) -> dict[str, Any]:
        return dict(self.put(f"/workflows/{workflow_id}", workflow))

    def delete_workflow(self, workflow_id: int) -> dict[str, Any]:
        return dict(self.delete(f"/workflows/{workflow_id}"))

    def iter_workflows(self, **filters: Any) -> Iterator[dict[str, Any]]:
        return self.iter_pages("/workflows", **filters)

    def workflow_status(self, workflow_id: int) -> dict[str, Any]:
        return dict(self.get(f"/workflows/{workflow_id}/status"))

    def is_complete(self, workflow_id: int) -> dict[str, Any]:
        return dict(self.get(f"/workflows/{workflow_id}/is_complete"))

    def initialize_jobs(
        self, workflow_id: int, only_uninitialized: bool = False, start_run: bool = False
    ) -> Json:
        """`start_run`: start the run and initialize in one step, only if the workflow never
        started (pytorc extension start_run_if_uninitialized; answers already_initialized)."""
        params: dict[str, Any] = {"only_uninitialized": only_uninitialized}
        if start_run:
            params["start_run_if_uninitialized"] = True
        return self.post(f"/workflows/{workflow_id}/initialize_jobs", **params)

    def cancel_workflow(self, workflow_id: int) -> Json:
        return self.put(f"/workflows/{workflow_id}/cancel")

    def release_jobs(
        self, workflow_id: int, run_id: int, compute_node_id: int, job_ids: list[int]
    ) -> dict[str, Any]:
        """Hand back jobs this compute node claimed and will not start (pytorc extension)."""
        body = {"run_id": run_id, "compute_node_id": compute_node_id, "job_ids": job_ids}
        return dict(self.post(f"/workflows/{workflow_id}/release_jobs", body))

    # --- jobs and the records they use ------------------------------------------------------

    def create_jobs(self, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return list(self.post("/bulk_jobs", {"jobs": jobs})["jobs"])

    def create_jobs_brief(self, jobs: list[dict[str, Any]]) -> list[int] | list[dict[str, Any]]:
        """Create jobs, asking for only their ids, in order (pytorc's bulk_jobs?brief=true); a
        server that does not know `brief` answers the full records, returned as they are."""
        answer = self.post("/bulk_jobs", {"jobs": jobs}, brief="true")
        if "ids" in answer:
            return [int(i) for i in answer["ids"]]
        return list(answer["jobs"])

    def create_files(self, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return list(self.post("/bulk_files", {"files": files})["files"])

    def create_user_data(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return list(self.post("/bulk_user_data", {"user_data": items})["user_data"])

    def iter_jobs(self, workflow_id: int, **filters: Any) -> Iterator[dict[str, Any]]:
        return self.iter_pages("/jobs", workflow_id=workflow_id, **filters)

    def get_job(self, job_id: int) -> dict[str, Any]:
        return dict(self.get(f"/jobs/{job_id}"))

    def iter_results(self, workflow_id: int, **filters: Any) -> Iterator[dict[str, Any]]:
        return self.iter_pages("/results", workflow_id=workflow_id, **filters)

    # --- records by id, workflow maintenance (used by the CLI and change detection) ----------

    def get_file(self, file_id: int) -> dict[str, Any]:
        return dict(self.get(f"/files/{file_id}"))

    def update_file(self, file_id: int, file: dict[str, Any]) -> dict[str, Any]:
        return dict(self.put(f"/files/{file_id}", file))

    def iter_files(self, workflow_id: int, **filters: Any) -> Iterator[dict[str, Any]]:
        return self.iter_pages("/files", workflow_id=workflow_id, **filters)

    def get_resource_requirements(self, rr_id: int) -> dict[str, Any]:
        return dict(self.get(f"/resource_requirements/{rr_id}"))

    def iter_compute_nodes(self, workflow_id: int, **filters: Any) -> Iterator[dict[str, Any]]:
        return self.iter_pages("/compute_nodes", workflow_id=workflow_id, **filters)

    def iter_job_dependencies(self, workflow_id: int) -> Iterator[dict[str, Any]]:
        return self.iter_pages(f"/workflows/{workflow_id}/job_dependencies")

    def iter_job_file_relationships(self, workflow_id: int) -> Iterator[dict[str, Any]]:
        return self.iter_pages(f"/workflows/{workflow_id}/job_file_relationships")

    def iter_job_user_data_relationships(self, workflow_id: int) -> Iterator[dict[str, Any]]:
        return self.iter_pages(f"/workflows/{workflow_id}/job_user_data_relationships")

    def reset_workflow_status(self, workflow_id: int, force: bool = False) -> dict[str, Any]:
        """Start a new run (bumps run_id); refused while jobs are active, unless forced."""
        return dict(self.post(f"/workflows/{workflow_id}/reset_status", force=force))

    def reset_job_status(self, workflow_id: int, failed_only: bool = False) -> dict[str, Any]:
        return dict(
            self.post(f"/workflows/{workflow_id}/reset_job_status", failed_only=failed_only)
        )

    def process_changed_job_inputs(self, workflow_id: int, dry_run: bool = False) -> list[str]:
        """Names of jobs whose input hash changed (reset to uninitialized unless dry_run)."""
        answer = self.post(f"/workflows/{workflow_id}/process_changed_job_inputs", dry_run=dry_run)
        return list(answer["reinitialized_jobs"])

    def required_existing_files(self, workflow_id: int) -> list[int]:
        return list(self.get(f"/workflows/{workflow_id}/required_existing_files")["files"])

    def missing_user_data(self, workflow_id: int) -> list[int]:
        return list(self.get(f"/workflows/{workflow_id}/missing_user_data")["user_data"])

    def manage_status_change(self, job_id: int, status: str, run_id: int) -> dict[str, Any]:
        return dict(self.put(f"/jobs/{job_id}/manage_status_change/{status}/{run_id}"))

    # --- user data, resource requirements, schedulers, failure handlers, actions -----------

    def iter_user_data(self, workflow_id: int, **filters: Any) -> Iterator[dict[str, Any]]:
        return self.iter_pages("/user_data", workflow_id=workflow_id, **filters)

    def create_resource_requirements(self, rr: dict[str, Any]) -> dict[str, Any]:
        return dict(self.post("/resource_requirements", rr))

    def update_resource_requirements(self, rr_id: int, rr: dict[str, Any]) -> dict[str, Any]:
        return dict(self.put(f"/resource_requirements/{rr_id}", rr))

    def iter_resource_requirements(
        self, workflow_id: int, **filters: Any
    ) -> Iterator[dict[str, Any]]:
        return self.iter_pages("/resource_requirements", workflow_id=workflow_id, **filters)

    def create_slurm_scheduler(self, scheduler: dict[str, Any]) -> dict[str, Any]:
        return dict(self.post("/slurm_schedulers", scheduler))

    def iter_slurm_schedulers(self, workflow_id: int) -> Iterator[dict[str, Any]]:
        return self.iter_pages("/slurm_schedulers", workflow_id=workflow_id)

    def create_failure_handler(self, handler: dict[str, Any]) -> dict[str, Any]:
        return dict(self.post("/failure_handlers", handler))

    def iter_failure_handlers(self, workflow_id: int) -> Iterator[dict[str, Any]]:
        return self.iter_pages(f"/workflows/{workflow_id}/failure_handlers")

    def create_workflow_action(self, workflow_id: int, action: dict[str, Any]) -> dict[str, Any]:
        return dict(self.post(f"/workflows/{workflow_id}/actions", action))

    def list_workflow_actions(self, workflow_id: int) -> list[dict[str, Any]]:
        return list(self.get(f"/workflows/{workflow_id}/actions"))


def _env_ca_cert() -> str | None:
    """TORC_CA_CERT: the certificate authority file to trust for https (a path, no secret)."""
    return os.environ.get("TORC_CA_CERT") or None
