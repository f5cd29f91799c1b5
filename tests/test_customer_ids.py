"""Generated customer ids: the documented shape, no repeats, and none shared with a forked process."""

from __future__ import annotations

import os
import re

from ucs_graphql.profiles.ids import ALPHABET, new_customer_id


def test_ids_are_16_base62_characters_sorted_by_time_and_never_repeat():
    ids = [new_customer_id() for _ in range(5000)]
    assert all(re.fullmatch(f"[{ALPHABET}]{{16}}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert [i[:8] for i in ids] == sorted(i[:8] for i in ids)  # the time part never goes back


def test_a_forked_process_draws_other_random_parts_than_its_parent():
    new_customer_id()  # the parent has random numbers read ahead
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write, "".join(new_customer_id()[8:] for _ in range(20)).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    os.close(write)
    child = os.read(read, 1000).decode()
    os.close(read)
    parent = "".join(new_customer_id()[8:] for _ in range(20))
    assert len(child) == len(parent) == 160
    assert {child[i:i + 8] for i in range(0, 160, 8)}.isdisjoint({parent[i:i + 8] for i in range(0, 160, 8)})
