"""Loaded by bench/loop_stalls.py into a served process (this folder first on PYTHONPATH, UCS_STALLS_OUT set).

Serves on asyncio's own event loop (uvloop offers no hook per callback) and times every callback the loop
runs (a wrapped `Handle._run`, as `loop.slow_callback_duration` does in debug mode): wall time, the thread's
CPU time, its wait on the run queue (/proc/thread-self/schedstat), its voluntary and involuntary context
switches (getrusage), and the garbage collections that ran inside it (gc.callbacks). Every callback longer
than UCS_STALLS_MS (2 ms) is kept. SIGUSR1 starts a fresh count, SIGUSR2 writes the JSON file."""

import os

if os.environ.get("UCS_STALLS_OUT"):
    import asyncio.events
    import gc
    import json
    import resource
    import signal
    import sys
    import threading
    import time

    sys.modules["uvloop"] = None  # type: ignore[assignment]  # uvicorn's "auto" loop falls back to asyncio's
    _OUT = os.environ["UCS_STALLS_OUT"]
    _LONG = float(os.environ.get("UCS_STALLS_MS", "2")) / 1000
    _MAIN = threading.get_ident()
    _clock, _cpu = time.perf_counter, time.thread_time
    _sched = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
    _state = {"callbacks": 0, "long": [], "gc": []}
    _inside = {"on": False, "gc": 0.0}
    _gc_started = [0.0, 0.0]

    def _schedstat() -> list[int]:
        return [int(x) for x in os.pread(_sched, 100, 0).split()]  # on-CPU ns, run-queue ns, slices

    def _gc(phase, info):  # type: ignore[no-untyped-def]
        if threading.get_ident() != _MAIN:
            return
        if phase == "start":
            _gc_started[0], _gc_started[1] = _clock(), _cpu()
            return
        wall = _clock() - _gc_started[0]
        _state["gc"].append((info["generation"], round(wall * 1e6), round((_cpu() - _gc_started[1]) * 1e6)))
        if _inside["on"]:
            _inside["gc"] += wall

    gc.callbacks.append(_gc)
    _run = asyncio.events.Handle._run

    def _timed_run(self):  # type: ignore[no-untyped-def]
        _inside["on"], _inside["gc"] = True, 0.0
        s0, r0 = _schedstat(), resource.getrusage(resource.RUSAGE_THREAD)
        w0, c0 = _clock(), _cpu()
        try:
            return _run(self)
        finally:
            wall, cpu = _clock() - w0, _cpu() - c0
            _inside["on"] = False
            _state["callbacks"] += 1
            if wall > _LONG:
                s1, r1 = _schedstat(), resource.getrusage(resource.RUSAGE_THREAD)
                _state["long"].append({
                    "wall_us": round(wall * 1e6), "cpu_us": round(cpu * 1e6), "gc_us": round(_inside["gc"] * 1e6),
                    "oncpu_us": round((s1[0] - s0[0]) / 1000), "runq_us": round((s1[1] - s0[1]) / 1000),
                    "voluntary": r1.ru_nvcsw - r0.ru_nvcsw, "involuntary": r1.ru_nivcsw - r0.ru_nivcsw,
                    "callback": repr(self)[:200]})

    asyncio.events.Handle._run = _timed_run

    def _reset(*_):  # type: ignore[no-untyped-def]
        _state.update(callbacks=0, long=[], gc=[])

    def _dump(*_):  # type: ignore[no-untyped-def]
        with open(_OUT, "w") as out:
            json.dump(_state, out)

    signal.signal(signal.SIGUSR1, _reset)
    signal.signal(signal.SIGUSR2, _dump)
