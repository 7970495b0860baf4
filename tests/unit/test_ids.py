from __future__ import annotations

import itertools
import time

from leadfunnel.domain.ids import id_time_ms, new_id, new_ids


def test_ids_are_version_7_and_strictly_increasing_within_a_process():
    ids = [new_id() for _ in range(20_000)]  # far more than one millisecond's counter
    assert all(i.version == 7 and i.variant == "specified in RFC 4122" for i in ids)
    assert all(a < b for a, b in itertools.pairwise(ids))


def test_id_carries_its_creation_time():
    before = time.time_ns() // 1_000_000
    value = new_id()
    after = time.time_ns() // 1_000_000
    assert before <= id_time_ms(value) <= after + 5


def test_ids_made_in_bulk_continue_the_same_strictly_increasing_sequence():
    ids = [*new_ids(3), new_id(), *new_ids(9_000), new_id(), *new_ids(0), *new_ids(1)]
    assert len(ids) == 9_006 and len(set(ids)) == 9_006
    assert all(i.version == 7 and i.variant == "specified in RFC 4122" for i in ids)
    assert all(a < b for a, b in itertools.pairwise(ids))
