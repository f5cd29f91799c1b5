"""WorkerLocks on its own (ucs_graphql.events.worker_locks): a worker is dead once its process is gone and never
before, whoever else looks, whenever its file is removed and created again; a worker without a file is not judged;
files of dead workers are removed, and a folder that cannot be used leaves the worker judging nobody."""

from __future__ import annotations

import fcntl
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ucs_graphql.events import worker_locks
from ucs_graphql.events.worker_locks import WorkerLocks, folder_of

HOLDER = """
import sys, time
from pathlib import Path
from ucs_graphql.events.worker_locks import WorkerLocks
assert WorkerLocks(Path(sys.argv[1]), sys.argv[2]).hold()
print("held", flush=True)
time.sleep(60)
"""


def test_a_worker_is_dead_once_its_process_is_killed_and_never_before(tmp_path):
    database = tmp_path / "ucs.db"
    me = WorkerLocks(database, "me")
    assert me.hold()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(database), "other"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with me.dead(["me", "other"]) as dead:
            assert dead == []  # alive; and this worker never judges itself
        assert (folder_of(database) / "other.lock").exists()
        holder.kill()
        holder.wait()
        with me.dead(["me", "other"]) as dead:
            assert dead == ["other"]
            # Its lock is held while the block removes its row: another judge does not take it meanwhile.
            third = WorkerLocks(database, "third")
            assert third.hold()
            with third.dead(["other"]) as seen_by_third:
                assert seen_by_third == []
            third.release()
        assert not (folder_of(database) / "other.lock").exists()
        with me.dead(["other", "../escape", ""]) as dead:
            assert dead == []  # a worker without a file, or whose name is not a file name, is not judged
    finally:
        holder.kill()
        holder.wait()
    me.release()
    assert list(folder_of(database).iterdir()) == []


def test_a_worker_that_starts_removes_the_files_of_dead_workers_only(tmp_path):
    database = tmp_path / "ucs.db"
    folder_of(database).mkdir()
    (folder_of(database) / "orphan.lock").write_text("")  # a worker killed before it registered
    alive = WorkerLocks(database, "alive")
    assert alive.hold()
    me = WorkerLocks(database, "me")
    assert me.hold()
    assert sorted(me.others()) == ["alive", "orphan"]
    with me.dead(me.others()) as dead:
        assert dead == ["orphan"]
    assert sorted(p.name for p in folder_of(database).iterdir()) == ["alive.lock", "me.lock"]
    alive.release()
    me.release()


def test_a_worker_that_could_not_leave_its_row_leaves_its_file_unlocked(tmp_path):
    database = tmp_path / "ucs.db"
    me, other = WorkerLocks(database, "me"), WorkerLocks(database, "other")
    assert me.hold() and other.hold()
    other.release(remove=False)  # its row could not be deleted: the others take it for dead
    assert (folder_of(database) / "other.lock").exists()
    with me.dead(["other"]) as dead:
        assert dead == ["other"]
    assert not (folder_of(database) / "other.lock").exists()
    me.release()


def test_a_block_that_fails_keeps_the_dead_workers_files(tmp_path):
    database = tmp_path / "ucs.db"
    me, gone = WorkerLocks(database, "me"), WorkerLocks(database, "gone")
    assert me.hold() and gone.hold()
    gone._fd, fd = None, gone._fd  # what a killed process leaves: its file, unlocked
    assert fd is not None
    os.close(fd)
    with pytest.raises(RuntimeError), me.dead(["gone"]) as dead:
        assert dead == ["gone"]
        raise RuntimeError("the row could not be deleted")
    assert (folder_of(database) / "gone.lock").exists()


def test_a_folder_that_cannot_be_used_leaves_the_worker_without_judgement(tmp_path, caplog):
    database = tmp_path / "ucs.db"
    folder_of(database).write_text("")  # a file where the folder would be: mkdir fails as in a read-only folder
    me = WorkerLocks(database, "me")
    with caplog.at_level(logging.WARNING, logger="ucs.events"):
        assert not me.hold()
        assert not me.hold()
    assert caplog.text.count("cannot hold this worker's lock file") == 1  # said once
    with me.dead(["other"]) as dead:
        assert dead == []  # without its own lock, a worker judges nobody: registered workers stay peers
    me.release()
    assert Path(folder_of(database)).is_file()


class Holder:
    """A worker alive in a process of its own, holding its lock (HOLDER)."""

    def __init__(self, database: Path, worker_id: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(database), worker_id],
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "held"

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def test_a_lock_taken_on_a_file_removed_meanwhile_judges_nobody(tmp_path, monkeypatch):
    """A judge opens a file, another removes it (its lock taken, it was dead) and the worker of that name creates
    and locks a new one, then the judge takes the lock of the file it opened, which nobody holds: the worker is
    alive, and its new file stays."""
    database = tmp_path / "ucs.db"
    me = WorkerLocks(database, "me")
    assert me.hold()
    path = folder_of(database) / "w.lock"
    path.write_text("")  # a file nobody holds: a worker's first attempt, taken by another worker's sweep
    stale = os.stat(path).st_ino
    holders: list[Holder] = []
    flock = fcntl.flock

    def interleaved(fd: int, operation: int) -> None:
        if not holders and os.fstat(fd).st_ino == stale:
            path.unlink()  # the other worker removes it ...
            holders.append(Holder(database, "w"))  # ... and the worker creates its file again and locks it
        flock(fd, operation)

    monkeypatch.setattr(worker_locks.fcntl, "flock", interleaved)
    try:
        with me.dead(["w"]) as dead:
            assert holders and dead == []
        assert path.exists() and os.stat(path).st_ino != stale
    finally:
        for holder in holders:
            holder.stop()
    me.release()


def test_a_file_missing_when_judged_and_created_meanwhile_is_not_removed(tmp_path):
    """A judge removes only the files whose lock it holds: the file a worker creates while the judge's block runs
    (the judge found none there) stays."""
    database = tmp_path / "ucs.db"
    me = WorkerLocks(database, "me")
    assert me.hold()
    holder: Holder | None = None
    try:
        with me.dead(["w"]):
            holder = Holder(database, "w")
        assert (folder_of(database) / "w.lock").exists()
    finally:
        if holder is not None:
            holder.stop()
    me.release()
