"""WorkerLocks on its own (ucs_graphql.events.worker_locks): a worker is dead once its process is gone and never
before, whoever else looks; files of dead workers are removed, and a folder that cannot be used leaves the worker
judging nobody."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
            assert dead == ["other"]  # a missing file is a dead worker; a name that is not a file name is not judged
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
    assert sorted(p.name for p in folder_of(database).iterdir()) == ["alive.lock", "me.lock"]
    alive.release()
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
