"""Memory of process trees: sampled RSS, and the kernel's own peak (VmHWM) per process."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psutil


def tree_pids(pid: int) -> list[int]:
    try:
        parent = psutil.Process(pid)
        return [parent.pid] + [child.pid for child in parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def parse_vm_hwm(status: str) -> int | None:
    """Bytes of the `VmHWM:` line of a /proc/<pid>/status text: the kernel's own peak RSS of the process."""
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            value, unit = line.split()[1:3]
            if unit != "kB":
                raise ValueError(f"unexpected VmHWM unit {unit!r}")
            return int(value) * 1024
    return None


def vm_hwm_bytes(pid: int) -> int | None:
    """The peak RSS of a live process since it started (Linux), None when unknown."""
    try:
        return parse_vm_hwm(Path(f"/proc/{pid}/status").read_text())
    except (OSError, ValueError):
        return None


def _process_label(pid: int) -> str:
    try:
        args = psutil.Process(pid).cmdline()
    except psutil.Error:
        return str(pid)
    interesting = [arg for arg in args[1:] if not arg.startswith("-")][:2]
    return f"{pid} {' '.join(Path(arg).name for arg in interesting)}".strip()


class RssSampler:
    """Samples the summed RSS of process trees every `interval` seconds in a thread; keeps the peak.

    The sampled sum can miss a short spike between samples; beside it, each process's VmHWM (the kernel's exact
    peak RSS since the process started, read at every sample and once more at the end) is kept per process.
    """

    def __init__(self, pids: Iterable[int], interval: float = 0.1):
        self.roots = list(pids)
        self.interval = interval
        self.peak_bytes = 0
        self.start_bytes: int | None = None
        self.last_bytes = 0
        self.samples = 0
        self.max_processes = 0
        self.high_water: dict[int, int] = {}
        self.labels: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> int:
        total = 0
        pids = [pid for root in self.roots for pid in tree_pids(root)]
        self.max_processes = max(self.max_processes, len(pids))
        for pid in pids:
            try:
                total += psutil.Process(pid).memory_info().rss
            except psutil.NoSuchProcess:
                continue
            if (peak := vm_hwm_bytes(pid)) is not None:
                self.high_water[pid] = max(peak, self.high_water.get(pid, 0))
                if pid not in self.labels:
                    self.labels[pid] = _process_label(pid)
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            value = self.sample()
            if self.start_bytes is None:
                self.start_bytes = value
            self.last_bytes = value
            self.peak_bytes = max(self.peak_bytes, value)
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sample()  # the processes' final high-water marks

    def as_dict(self) -> dict[str, Any]:
        mb = 2**20
        return {
            "processes": self.max_processes,
            "start_rss_mb": round((self.start_bytes or 0) / mb, 1),
            "peak_rss_mb": round(self.peak_bytes / mb, 1),
            "end_rss_mb": round(self.last_bytes / mb, 1),
            "samples": self.samples,
            **high_water_summary(self.high_water, self.labels),
        }


def high_water_summary(high_water: dict[int, int], labels: dict[int, str] | None = None) -> dict[str, Any]:
    """Per-process VmHWM in MB, its max and its sum (an upper bound of the tree's peak: the processes' peaks
    need not coincide)."""
    mb = 2**20
    labels = labels or {}
    return {
        "vmhwm_max_mb": round(max(high_water.values(), default=0) / mb, 1),
        "vmhwm_sum_mb": round(sum(high_water.values()) / mb, 1),
        "vmhwm_per_process_mb": {labels.get(pid, str(pid)): round(value / mb, 1)
                                 for pid, value in sorted(high_water.items())},
    }
