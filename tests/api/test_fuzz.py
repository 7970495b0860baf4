"""Property-based fuzzing of the whole API from its OpenAPI document (schemathesis, in-process
over ASGI): no generated request gets a 5xx, and every 4xx is a problem+json document.

Operations come from the published document, so a new route is fuzzed without touching
this file."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.api.conftest import World


def _check(case, world: World, who: str) -> None:
    response = case.call(headers=world.as_(who))
    where = (case.method, case.formatted_path, response.status_code, response.text[:500])
    assert response.status_code < 500, where
    if response.status_code >= 400:
        assert response.headers["content-type"][0].startswith("application/problem+json"), where
        body = response.json()
        assert {"type", "title", "status", "detail"} <= set(body), where
        assert body["status"] == response.status_code, where


@pytest.mark.parametrize(("who", "examples"), [("admin", 40), ("rep", 15)])
def test_no_generated_request_breaks_the_api(world: World, who: str, examples: int) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", world.api)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=examples, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case) -> None:
            _check(case, world, who)

        fuzz()
