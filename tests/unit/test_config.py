"""Settings from options and the environment."""

from __future__ import annotations

import pytest

from leadfunnel.config import Settings, load_settings
from leadfunnel.domain.errors import ValidationError


def test_the_analytics_engine_defaults_to_auto_and_spark_can_be_chosen():
    assert load_settings(environ={}).analytics == "auto"
    assert load_settings(environ={"LEADFUNNEL_ANALYTICS": " Spark "}).analytics == "spark"
    assert Settings().analytics == "auto"


def test_an_unknown_analytics_engine_is_refused_naming_the_variable():
    with pytest.raises(ValidationError) as refused:
        load_settings(environ={"LEADFUNNEL_ANALYTICS": "hadoop"})
    assert "LEADFUNNEL_ANALYTICS" in str(refused.value) and "hadoop" in str(refused.value)
