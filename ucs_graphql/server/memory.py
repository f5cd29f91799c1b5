"""This process's memory figures in KB, as /server/status reports them."""

from __future__ import annotations

import os
import resource


def _status_kb(field: str) -> int:
    try:
        with open(f"/proc/{os.getpid()}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory_kb() -> dict[str, int]:
    """max_memory (address-space limit or physical memory), allocated (VmSize), used (VmRSS), free."""
    used = _status_kb("VmRSS") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    allocated = _status_kb("VmSize") or used
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY or soft <= 0:
        try:
            max_kb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 1024
        except (ValueError, OSError):
            max_kb = allocated
    else:
        max_kb = soft // 1024
    return {
        "max_memory": max_kb,
        "allocated_memory": allocated,
        "used_memory": used,
        "free_memory": max(max_kb - used, 0),
    }
