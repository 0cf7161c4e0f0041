"""`torc-server`: run the API server over one SQLite database."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import socket
import sqlite3
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from pytorc import __version__
from pytorc.config import ConfigError, ServerSettings, load_settings, origin_of
from pytorc.fields import ValidationError
from pytorc.server.logs import setup_logging

if TYPE_CHECKING:
    import uvicorn

    from pytorc.server.auth import Credentials
    from pytorc.server.db.connection import Database
    from pytorc.server.snapshots import Snapshotter

log = logging.getLogger("pytorc.server")
DEFAULT_SNAPSHOT_PATH = "torc-server-snapshot.db"

EPILOG = """\
examples:
  torc-server run --database /tmp/torc-$USER.db --host 0.0.0.0 --port 8085
  torc-server run --database :memory: --port 0      # prints TORC_SERVER_PORT=<port> first
  TORC_SERVER__THREADS=8 torc-server run             # settings also come from config files

settings precedence: /etc/torc/config.toml < ~/.config/torc/config.toml < ./torc.toml
                     < TORC_SERVER__<KEY> environment < DATABASE_URL, TORC_LOG_DIR,
                     TORC_COMPLETION_CHECK_INTERVAL_SECS, TORC_MAX_REQUEST_BODY_MB < flags
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="torc-server",
        description="The Torc API server: owns the workflow database and serves /torc-service/v1.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"torc-server {__version__}")
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser(
        "run",
        help="run the server (the default)",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_run_flags(run)
    return parser


def _add_run_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-d", "--database", help="SQLite file, or :memory: (default ./torc.db; env DATABASE_URL)"
    )
    p.add_argument("-H", "--host", help="interface to bind (default 0.0.0.0)")
    p.add_argument("-p", "--port", type=int, help="port; 0 picks a free one (default 8080)")
    p.add_argument(
        "-t", "--threads", type=int, help="worker threads; DB pool = max(threads,2)+2 (default 1)"
    )
    p.add_argument(
        "-c",
        "--completion-check-interval-secs",
        type=float,
        dest="completion_check_interval_secs",
        help="seconds between safety-net sweeps for unblockable jobs (default 30; env "
        "TORC_COMPLETION_CHECK_INTERVAL_SECS)",
    )
    p.add_argument("-l", "--log-level", help="error|warn|info|debug|trace (default info)")
    p.add_argument("--log-dir", help="write rotating logs (10 MiB x 5) here (env TORC_LOG_DIR)")
    p.add_argument(
        "--json-logs",
        action="store_true",
        default=None,
        help="write the log file (--log-dir) as JSON lines; the console stays readable",
    )
    p.add_argument(
        "--no-warm-up",
        action="store_false",
        dest="warm_up",
        default=None,
        help="skip preparing every route before serving (~0.3 s at start-up, paid instead by "
        "the first request to each group of routes); for short-lived private servers",
    )
    p.add_argument(
        "--shutdown-on-stdin-eof",
        action="store_true",
        help="shut down gracefully, as on SIGTERM, when standard input reaches end of file: for "
        "a server owned by another program, which stops it by closing the pipe or by dying",
    )
    _add_tuning_flags(p)
    _add_snapshot_flags(p)
    _add_security_flags(p)


def _add_tuning_flags(p: argparse.ArgumentParser) -> None:
    tuning = p.add_argument_group("runners and load (pytorc; see docs/server.md)")
    tuning.add_argument(
        "--dead-runner-timeout-secs",
        type=float,
        dest="dead_runner_timeout_secs",
        help="seconds without a word from a runner before it is declared dead and its pending "
        "and running jobs are made ready again; 0 never (default 120; env "
        "TORC_DEAD_RUNNER_TIMEOUT_SECS)",
    )
    tuning.add_argument(
        "--max-in-flight-requests",
        type=int,
        dest="max_in_flight_requests",
        help="requests handled at once before new ones get 503 + Retry-After (default 4096;"
        " env TORC_MAX_IN_FLIGHT_REQUESTS)",
    )
    tuning.add_argument(
        "--chunk-jobs",
        type=int,
        dest="chunk_jobs",
        help="job ids per write transaction when a big workflow is initialized or deleted:"
        " other writes wait at most one chunk (default 5000; env TORC_CHUNK_JOBS)",
    )
    tuning.add_argument(
        "--event-loop",
        choices=("auto", "asyncio", "uvloop"),
        dest="event_loop",
        help="the event loop serving requests (default auto: uvloop when installed)",
    )


def _add_snapshot_flags(p: argparse.ArgumentParser) -> None:
    snapshots = p.add_argument_group("snapshots (see docs/server.md: Snapshots)")
    snapshots.add_argument(
        "--snapshot-path",
        dest="snapshot_path",
        help="where snapshots go (SIGUSR1, --snapshot-interval-seconds, and, when set, a last"
        " one at a clean stop); older ones rotate to PATH.1 .. PATH.N (default"
        " ./torc-server-snapshot.db; env TORC_SERVER_SNAPSHOT_PATH)",
    )
    snapshots.add_argument(
        "--snapshot-keep",
        type=int,
        dest="snapshot_keep",
        help="older snapshots kept beside the newest (default 5, at least 1; env"
        " TORC_SERVER_SNAPSHOT_KEEP)",
    )
    snapshots.add_argument(
        "--snapshot-interval-seconds",
        type=float,
        dest="snapshot_interval_seconds",
        help="take a snapshot this often, and a last one at a clean stop (default 0: only on"
        " SIGUSR1)",
    )


def _add_security_flags(p: argparse.ArgumentParser) -> None:
    security = p.add_argument_group(
        "security (see docs/server.md: Authentication, TLS, Access control)"
    )
    security.add_argument(
        "--https", action="store_true", default=None, help="serve over TLS (with the two below)"
    )
    security.add_argument("--tls-cert", help="PEM certificate file; implies --https")
    security.add_argument("--tls-key", help="PEM private key file; implies --https")
    security.add_argument("--auth-file", help="htpasswd file (env TORC_AUTH_FILE)")
    security.add_argument(
        "--require-auth", action="store_true", default=None, help="refuse unauthenticated requests"
    )
    security.add_argument(
        "--credential-cache-ttl-secs",
        type=int,
        help="seconds a verified credential is cached (env TORC_CREDENTIAL_CACHE_TTL_SECS)",
    )
    security.add_argument(
        "--enforce-access-control",
        action="store_true",
        default=None,
        help="limit each workflow to its owner and access groups",
    )
    security.add_argument(
        "--admin-user",
        action="append",
        dest="admin_users",
        help="an admin user; repeatable (env TORC_ADMIN_USERS, comma-separated)",
    )


SECURITY_KEYS = (
    "enforce_access_control",
    "admin_users",
    "https",
    "tls_cert",
    "tls_key",
    "auth_file",
    "require_auth",
    "credential_cache_ttl_secs",
)
FLAGS = (
    "database",
    "host",
    "port",
    "threads",
    "completion_check_interval_secs",
    "dead_runner_timeout_secs",
    "snapshot_path",
    "snapshot_keep",
    "snapshot_interval_seconds",
    "event_loop",
    "max_in_flight_requests",
    "chunk_jobs",
    "log_level",
    "warm_up",
    *SECURITY_KEYS,
)


def database_from_url(url: str) -> str:
    """The path in DATABASE_URL; Torc's form `sqlite:path` / `sqlite://path` or a bare path."""
    for prefix in ("sqlite://", "sqlite:"):
        if url.startswith(prefix):
            return url.removeprefix(prefix)
    return url


def resolve_settings(args: argparse.Namespace) -> ServerSettings:
    """Config files and TORC_SERVER__* env, then Torc's dedicated env vars, then flags."""
    server = load_settings().server
    updates: dict[str, object] = {}
    origins: dict[str, str] = {}  # key -> the variable or flag that set it, for error messages
    for env, key, cast in (
        ("DATABASE_URL", "database", database_from_url),
        ("TORC_COMPLETION_CHECK_INTERVAL_SECS", "completion_check_interval_secs", float),
        ("TORC_MAX_REQUEST_BODY_MB", "max_request_body_mb", float),
        ("TORC_MAX_IN_FLIGHT_REQUESTS", "max_in_flight_requests", int),
        ("TORC_CHUNK_JOBS", "chunk_jobs", int),
        ("TORC_DEAD_RUNNER_TIMEOUT_SECS", "dead_runner_timeout_secs", float),
        ("TORC_SERVER_SNAPSHOT_PATH", "snapshot_path", str),
        ("TORC_SERVER_SNAPSHOT_KEEP", "snapshot_keep", int),
        ("TORC_AUTH_FILE", "auth_file", str),
        ("TORC_CREDENTIAL_CACHE_TTL_SECS", "credential_cache_ttl_secs", int),
        ("TORC_ADMIN_USERS", "admin_users", _comma_list),
    ):
        if os.environ.get(env):
            try:
                updates[key] = cast(os.environ[env])
            except ValueError as exc:
                raise ConfigError(f"{env}={os.environ[env]!r}: {exc}") from exc
            origins[key] = f"environment variable {env}"
    for key in FLAGS:
        value = getattr(args, key, None)
        if value is not None:
            updates[key] = value
            origins[key] = "--" + key.replace("_", "-")
    data = server.model_dump()
    data.update(updates)
    if getattr(args, "log_dir", None):
        data["logging"]["log_dir"] = args.log_dir
    elif os.environ.get("TORC_LOG_DIR"):
        data["logging"]["log_dir"] = os.environ["TORC_LOG_DIR"]
    if getattr(args, "json_logs", None):
        data["logging"]["json_logs"] = True
    try:
        settings = ServerSettings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, p.loc))}: {p.message}"
            + (f" (from {origins[str(p.loc[0])]})" if p.loc and p.loc[0] in origins else "")
            for p in exc.problems
        )
        raise ConfigError(f"invalid setting: {problems}") from exc
    refuse_security_settings(settings, origins)
    return settings


def _comma_list(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


def refuse_security_settings(settings: ServerSettings, origins: dict[str, str]) -> None:
    """Stop start-up when the security settings cannot work together: authentication without
    saying who may authenticate, half a TLS set-up, access control without identities."""
    if settings.require_auth and not settings.auth_file:
        raise ConfigError("--require-auth needs --auth-file (an htpasswd file; see torc-htpasswd)")
    tls = (settings.tls_cert, settings.tls_key)
    if (settings.https or any(tls)) and not all(tls):
        raise ConfigError("TLS needs both --tls-cert and --tls-key (PEM files)")
    if settings.enforce_access_control and not settings.require_auth:
        origin = origins.get("enforce_access_control") or origin_of(
            ("server", "enforce_access_control")
        )
        raise ConfigError(
            f"enforce_access_control (from {origin}) needs --require-auth and --auth-file:"
            " access is granted by user, so every request must say who makes it"
        )


def _bind(host: str, port: int) -> socket.socket:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, _, _, _, address = infos[0]
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and
    # without it every answer waited ~40 ms for a delayed ACK (`--event-loop asyncio`).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(settings: ServerSettings, shutdown_on_stdin_eof: bool = False) -> None:
    """Open the database, bind, announce the port, serve until SIGTERM/SIGINT (or, when asked,
    the end of standard input), close cleanly."""
    import uvicorn

    from pytorc.server import db_lock
    from pytorc.server.accept import GreedyAcceptServer
    from pytorc.server.app import create_app
    from pytorc.server.db.connection import Database

    stop = _StopRequest()
    if shutdown_on_stdin_eof:
        stop.on_stdin_eof()
    credentials = _credentials(settings)
    _check_tls(settings)
    database = settings.database or "torc.db"
    lock = None if database == ":memory:" else db_lock.hold(database)
    try:
        db = Database(database, threads=settings.threads)
    except (sqlite3.Error, OSError) as exc:
        raise ConfigError(f"cannot open database {database}: {exc}") from exc
    snapshots = _start_snapshots(settings, db)
    try:
        try:
            sock = _bind(settings.host, settings.port)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {settings.host}:{settings.port}: {exc}") from exc
        port = sock.getsockname()[1]
        print(f"TORC_SERVER_PORT={port}", flush=True)
        _log_start(settings, database, port)
        _log_auth(settings, credentials)
        debug = settings.log_level in ("debug", "trace")
        app = create_app(settings, db, credentials)
        config = uvicorn.Config(
            app,
            log_level="debug" if debug else "warning",
            access_log=debug,
            timeout_graceful_shutdown=30,
            loop=_loop_setting(settings.event_loop),
            log_config=None,
            ssl_certfile=settings.tls_cert,
            ssl_keyfile=settings.tls_key,
        )
        greedy = config.loop == "uvloop"  # asyncio's own accept loop is greedy already
        server = GreedyAcceptServer(config) if greedy else uvicorn.Server(config)
        app.state.should_stop = lambda: server.should_exit  # ends live event streams
        stop.attach(server)
        if not stop.requested:
            server.run(sockets=[sock])
        sock.close()
        log.info("stopped serving")
        snapshots.stop()
        if settings.snapshot_path or settings.snapshot_interval_seconds or snapshots.taken:
            snapshots.take()  # snapshots are in use: the last one holds the final state
    finally:
        signal.signal(signal.SIGUSR1, signal.SIG_DFL)
        db.close()
        log.info("database closed")
        if lock is not None:
            lock.close()  # another server may take the database now


def _loop_setting(choice: str) -> str:
    """uvicorn's `loop` for --event-loop (with uvloop, serve() adds greedy accept)."""
    if choice == "asyncio":
        return "asyncio"
    try:
        import uvloop  # noqa: F401
    except ImportError:
        if choice == "uvloop":
            raise ConfigError("--event-loop uvloop: uvloop is not installed") from None
        return "asyncio"
    return "uvloop"


def _start_snapshots(settings: ServerSettings, db: Database) -> Snapshotter:
    """The snapshot thread, and SIGUSR1 asking it for one: installed before the port is
    announced, so a caller that saw TORC_SERVER_PORT= may signal at once."""
    from pytorc.server.snapshots import Snapshotter

    snapshots = Snapshotter(
        db,
        settings.snapshot_path or DEFAULT_SNAPSHOT_PATH,
        settings.snapshot_keep,
        settings.snapshot_interval_seconds,
        lambda path: print(f"TORC_SNAPSHOT_DONE={path}", flush=True),
    )
    signal.signal(signal.SIGUSR1, lambda signum, frame: snapshots.request())
    snapshots.start()
    return snapshots


def _log_start(settings: ServerSettings, database: str, port: int) -> None:
    from pytorc.server.db.connection import pool_size

    scheme = "https" if settings.tls_cert else "http"
    log.info(
        "torc-server %s serving %s on %s://%s:%d",
        __version__,
        database,
        scheme,
        settings.host,
        port,
    )
    log.info(
        "settings: threads=%d (database pool %d) completion_check_interval_secs=%g "
        "dead_runner_timeout_secs=%g max_request_body_mb=%g log_level=%s log_dir=%s warm_up=%s",
        settings.threads,
        pool_size(settings.threads),
        settings.completion_check_interval_secs,
        settings.dead_runner_timeout_secs,
        settings.max_request_body_mb,
        settings.log_level,
        settings.logging.log_dir,
        settings.warm_up,
    )


def _credentials(settings: ServerSettings) -> Credentials | None:
    """The auth file's users (None without one); a file that cannot be used stops start-up."""
    if not settings.auth_file:
        return None
    from pytorc.server.auth import AuthFileError, Credentials

    try:
        return Credentials(Path(settings.auth_file), settings.credential_cache_ttl_secs)
    except AuthFileError as exc:
        raise ConfigError(str(exc)) from None


def _check_tls(settings: ServerSettings) -> None:
    """Load the certificate and key now, so a bad pair stops start-up with a clear message."""
    if not settings.tls_cert or not settings.tls_key:
        return
    import ssl

    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
            settings.tls_cert, settings.tls_key
        )
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"cannot use TLS certificate {settings.tls_cert} with key {settings.tls_key}: {exc}"
        ) from None


def _log_auth(settings: ServerSettings, credentials: Credentials | None) -> None:
    if credentials is None:
        mode = "off (no --auth-file): every request is served"
    else:
        mode = (
            f"{'required' if settings.require_auth else 'optional'}, {len(credentials.users)}"
            f" user(s) in {settings.auth_file}, verified credentials cached"
            f" {settings.credential_cache_ttl_secs} s"
        )
    log.info("authentication: %s", mode)
    if not settings.require_auth and settings.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning(
            "listening on %s without --require-auth: anyone who can reach this port can read,"
            " change and run jobs in every workflow (see docs/server.md, Authentication)",
            settings.host,
        )


class _StopRequest:
    """SIGTERM/SIGINT: a graceful stop with exit status 0, whenever the signal arrives.

    uvicorn handles the signals while it serves, then re-raises them once it has stopped; with
    the default SIGTERM handler that would kill us with status -15 after a clean shutdown, so
    our own handler stays installed around it and merely asks the server to exit.
    """

    def __init__(self) -> None:
        self.requested = False
        self.server: uvicorn.Server | None = None
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._handle)

    def attach(self, server: uvicorn.Server) -> None:
        self.server = server
        server.should_exit = self.requested

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True  # no logging here: a handler may interrupt a log call
        if self.server is not None:
            self.server.should_exit = True

    def on_stdin_eof(self) -> None:
        """Stop as on SIGTERM once standard input ends, from a thread that reads it.

        The parent that holds the pipe's write end ends us by closing it, and also by dying,
        however it dies (the kernel closes a killed process's files): a private server never
        outlives the `torc -s` command that started it."""
        threading.Thread(target=self._watch_stdin, name="torc-stdin-eof", daemon=True).start()

    def _watch_stdin(self) -> None:
        try:
            while os.read(0, 65536):
                pass  # what the parent writes means nothing; only the end does
        except OSError:
            pass  # no standard input at all: it has ended
        log.info("standard input closed: shutting down")
        self._handle(signal.SIGTERM, None)


def main(argv: list[str] | None = None) -> None:
    # Start-up builds ~1 s of long-lived objects (FastAPI, pydantic, the routes); collecting
    # while it does cost ~0.15 s of full-heap passes. The app's lifespan turns the collector
    # back on once they are built and frozen (see app.settle_garbage_collector).
    gc.disable()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv = ["run", *argv]
    args = _parser().parse_args(argv)
    try:
        settings = resolve_settings(args)
        for warning in setup_logging(settings.log_level, settings.logging):
            log.warning(warning)
        serve(settings, shutdown_on_stdin_eof=getattr(args, "shutdown_on_stdin_eof", False))
    except ConfigError as exc:
        print(f"torc-server: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
