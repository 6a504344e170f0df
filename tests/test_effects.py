"""Every effect a process definition names has exactly one handler in the services."""
from __future__ import annotations

from domain.processes import EFFECTS
from logic.effects import HANDLERS


def test_each_effect_name_has_one_handler_and_each_handler_a_name():
    assert set(HANDLERS) == EFFECTS
