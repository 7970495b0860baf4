"""``leadfunnel attribution`` as users run it, on the hand-worked store of
tests/integration/test_attribution_engine.py."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine

from tests.integration.test_attribution_engine import write


@pytest.fixture
def store(sqlite_url):
    engine = create_engine(sqlite_url)
    try:
        write(SimpleNamespace(engine=engine))
    finally:
        engine.dispose()


def test_json_gives_credit_cost_and_the_comparison(cli, store):
    data = cli.json("attribution", "--model", "u_shaped", "--conversion", "won", "--by", "channel",
                    "--compare", "linear,markov")  # fmt: skip
    assert (data["model"], data["conversion"], data["by"], data["conversions"]) == (
        "u_shaped", "won", "channel", 1,
    )  # fmt: skip
    revenue = {g["group"]: g["revenue"] for g in data["groups"] if g["conversions"]}
    assert revenue == {"ads": pytest.approx(400.0), "search": pytest.approx(400.0),
                       "email": pytest.approx(200.0)}  # fmt: skip
    assert list(data["comparison"]) == ["u_shaped", "linear", "markov"]
    assert data["comparison"]["linear"]["ads"]["revenue"] == pytest.approx(1000 / 3)
    ads = next(g for g in data["groups"] if g["group"] == "ads")
    assert (ads["cost"], ads["cac"], ads["roas"]) == (
        300.0,
        pytest.approx(750.0),
        pytest.approx(400 / 300),
    )


def test_the_table_names_the_model_and_lists_the_models_side_by_side(cli, store):
    code, out, err = cli("attribution", "--model", "markov", "--conversion", "mql",
                         "--compare", "shapley", "--lookback", "30d")  # fmt: skip
    assert code == 0, err
    assert "markov attribution of 2 mql conversions" in out
    assert "Markov removal effects" in out and "Attributed conversions by model" in out


def test_custom_weights_and_their_errors(cli, store):
    data = cli.json(
        "attribution", "--model", "custom", "--weights", "first=1", "--conversion", "mql"
    )
    assert {g["group"]: g["conversions"] for g in data["groups"] if g["conversions"]} == {
        "ads": 1.0, "email": 1.0,
    }  # fmt: skip
    code, _, err = cli("attribution", "--model", "custom", "--weights", "first=0.5")
    assert code == 1 and "weights: shares must sum to 1" in err
    code, _, err = cli("attribution", "--model", "wshaped")
    assert code == 1 and "model: 'wshaped' is not one of" in err
    code, _, err = cli("attribution", "--compare", "first_touch,nope")
    assert code == 1 and "compare: 'nope'" in err
