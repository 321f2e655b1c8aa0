"""Machine facts written next to every result (numbers without the machine they came from mean little), free
local ports, and the CPU-quiet check: on a shared 2-core machine a benchmark under load measures the neighbours.
"""

from __future__ import annotations

import os
import platform
import shlex
import socket
import subprocess
import sys
import time
from typing import Dict, List, Optional

LOCALHOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((LOCALHOST, 0))
        return probe.getsockname()[1]


def load_average() -> float:
    """The 1-minute load average."""
    return os.getloadavg()[0]


def wait_for_quiet(max_load: float, max_wait_s: float) -> str:
    """Waits (up to `max_wait_s`) until the 1-minute load average drops below `max_load`; says what happened."""
    started = time.monotonic()
    while load_average() >= max_load and time.monotonic() - started < max_wait_s:
        time.sleep(10)
    waited = time.monotonic() - started
    load = load_average()
    if load >= max_load:
        return f"NOT QUIET: 1-min load {load:.2f} >= {max_load} after waiting {waited:.0f}s; numbers are noisy"
    return f"quiet: 1-min load {load:.2f} < {max_load} (waited {waited:.0f}s)"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> str:
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            kib = int(handle.readline().split()[1])
        return f"{kib / 2 ** 20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        return "unknown"


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=os.path.dirname(os.path.abspath(__file__)), check=False).stdout.strip()
    except OSError:
        return "unknown"


def package_versions(names: List[str]) -> Dict[str, str]:
    from importlib import metadata

    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def machine_info(packages: List[str]) -> Dict[str, str]:
    """CPU, cores, memory, OS, Python, package versions, git commit and the current load average."""
    info = {"cpu": _cpu_model(), "cores": str(os.cpu_count()), "memory": _memory_gib(),
            "os": f"{platform.system()} {platform.release()} ({platform.libc_ver()[1] and 'glibc ' + platform.libc_ver()[1]})",
            "python": sys.version.split()[0], "git commit": _git_commit(),
            "load average (1/5/15 min) at start": " / ".join(f"{v:.2f}" for v in os.getloadavg())}
    info.update({f"{name}": version for name, version in package_versions(packages).items()})
    return info


def command_line() -> str:
    """The exact command that produced a result, relative to the repository root."""
    return " ".join(shlex.quote(part) for part in [os.path.relpath(sys.executable), *sys.argv])


def markdown_facts(facts: Dict[str, str]) -> List[str]:
    return [f"- {key}: {value}" for key, value in facts.items()]


def add_end_facts(facts: Dict[str, str], started: Optional[float] = None) -> None:
    """Adds the load average at the end (and the wall time since `started`, a time.time() value) to `facts`."""
    facts["load average (1/5/15 min) at end"] = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    if started is not None:
        facts["wall time"] = f"{time.time() - started:.0f} s"


def publish(markdown: str, output: str) -> None:
    """Prints a result and writes it to `output` (skipped when empty), making its folder."""
    print("\n" + markdown)
    if output:
        os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(markdown)
        print(f"wrote {output}")
