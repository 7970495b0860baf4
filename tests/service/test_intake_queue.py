"""Group commit: submissions that wait together are written in one transaction, each caller
gets its own outcome, and one bad submission fails alone."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from leadfunnel.domain.errors import ValidationError
from leadfunnel.services.intake import IntakeItem, IntakeResult
from leadfunnel.services.intake_queue import IntakeQueue
from leadfunnel.services.lead_input import parse_lead_input
from tests.builders import count_rows, lead_fields


def _item(app, key: str | None = None, **fields) -> IntakeItem:
    draft = parse_lead_input(lead_fields(**fields), now=app.clock(), default_region="US")
    return IntakeItem(draft, key)


def _submit_while_the_store_is_busy(app, queue: IntakeQueue, items: list[IntakeItem]) -> list:
    """Hold the write lock while the submissions queue up, then let them through."""
    with app.uow_factory() as blocker:  # a write transaction: BEGIN IMMEDIATE holds the lock
        blocker.leads.get(uuid.uuid4())
        with ThreadPoolExecutor(len(items)) as pool:
            futures = []
            for item in items:
                futures.append(pool.submit(queue.submit, item, source="webform", actor="test"))
                time.sleep(0.01)
            time.sleep(0.3)
            blocker.commit()
            return [f.result(timeout=30) for f in futures]


def test_waiting_submissions_share_one_commit_and_each_gets_its_result(app) -> None:
    queue = IntakeQueue(app.uow_factory, app.clock)
    try:
        items = [_item(app, email=f"buyer{i}@client{i}.example") for i in range(12)]
        outcomes = _submit_while_the_store_is_busy(app, queue, items)
    finally:
        queue.close()
    assert all(isinstance(o, IntakeResult) and o.outcome == "created" for o in outcomes)
    assert len({o.lead_id for o in outcomes}) == 12 and count_rows(app, "leads") == 12
    assert queue.submissions == 12 and queue.batches <= 3  # the first alone, the rest together


def test_the_same_person_twice_in_one_batch_is_one_lead(app) -> None:
    queue = IntakeQueue(app.uow_factory, app.clock)
    try:
        items = [_item(app, email="jo@buyer.example"), _item(app, email="other@buyer.example"),
                 _item(app, email="JO@Buyer.example", title="CTO")]
        outcomes = _submit_while_the_store_is_busy(app, queue, items)
    finally:
        queue.close()
    assert [o.outcome for o in outcomes] == ["created", "created", "merged"]
    assert outcomes[0].lead_id == outcomes[2].lead_id and count_rows(app, "leads") == 2


def test_a_submission_that_breaks_its_batch_fails_alone(app) -> None:
    queue = IntakeQueue(app.uow_factory, app.clock)
    try:
        items = [_item(app, email=f"ok{i}@client.example") for i in range(4)]
        items.insert(2, _item(app, key="k" * 201, email="bad@client.example"))
        outcomes = _submit_while_the_store_is_busy(app, queue, items)
    finally:
        queue.close()
    assert isinstance(outcomes[2], ValidationError) and outcomes[2].field == "idempotency_key"
    assert [o.outcome for i, o in enumerate(outcomes) if i != 2] == ["created"] * 4
    assert count_rows(app, "leads") == 4
