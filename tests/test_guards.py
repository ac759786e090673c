"""The rewrite guard: what no rewrite may do, and what only the speaker's own evidence may."""

from __future__ import annotations

import pytest

from selflearn.rewrite import RewriteRequest, RewriteTable
from selflearn.rewrite.guards import OFFLINE_MAY, OWN_HISTORY_MAY, OWN_ROW_MAY, Guard

GUARD = Guard(
    ["kitchen", "living room", "office", "hallway", "bedroom"],
    [
        "ceiling light",
        "ceiling fan",
        "night light",
        "strip lights",
        "fairy lights",
        "lamp",
        "blinds",
        "thermostat",
        "portland",
        "portland oregon",
        "river song",
        "paper hearts",
        "kitchen speaker",
    ],
)


@pytest.mark.parametrize(
    ("source", "target", "area", "why"),
    [
        # contradictions: never, whoever's evidence
        ("turn the blinds off", "lift blinds", None, "opposite action"),
        (
            "lower brightness of lights in the kitchen",
            "lights on in the kitchen",
            None,
            "changes the action",
        ),
        ("the back door off", "lock the back door", None, "changes the action"),
        ("please turn the lights down", "turn off the lights", None, "changes the action"),
        ("can you lock the side door", "is the side door locked", None, "command to question"),
        ("is the lamp on", "turn on the lamp", None, "question to command"),
        ("please bring off kitchen speaker", "kitchen speaker", None, "drops the action"),
        ("no i said play river song", "play river song", None, "replays a correction"),
        ("lights on my hallways", "lights on in the living room", "Living Room", "changes a place"),
        ("turn off the lamp in the bedroom", "turn off the lamp", None, "drops a place"),
        ("play paper hearts", "play river song", None, "drops a name"),
        ("the lamp should be turned off on", "turn lamp on", None, "picks an action"),
        (
            "open the living room blinds halfway",
            "open the living room blinds",
            None,
            "drops an amount",
        ),
        ("set the strip lights to 40", "set the strip lights", None, "drops an amount"),
        # guesses: only with more evidence than one similarity score
        ("cut oven power please", "my oven please", None, "implies an action"),
        ("activate top light in the kitchen", "lights on in the kitchen", None, "widens to a room"),
        # the name went unheard ("the [lamp] in the kitchen"): filling the gap is a guess
        (
            "turn on the in the kitchen",
            "turn on the lights in the kitchen",
            "Kitchen",
            "widens to a room",
        ),
        ("could you play paper song", "could you play river song", None, "guesses a name"),
        (
            "whats portland weather",
            "what is the weather in portland oregon",
            None,
            "narrows a name",
        ),
        ("my lamp", "turn on the lamp", None, "adds an action"),
        # the question word went unheard or was misheard: asked, or ordered?
        ("im the blinds open", "lift blinds please", None, "may be a question"),
        # which light went unheard ("free" for "fairy"): every light is a guess
        ("turn on the free lights", "please turn on the lights", None, "drops which one"),
        ("lamp off", "turn off the lamp in the bedroom", "Kitchen", "adds a place"),
        # fine
        ("activate fairly lights", "turn on the fairy lights", None, None),
        ("[is] the blinds open".replace("[is] ", ""), "is the blinds open", None, None),
        ("lamp off", "turn off the lamp in the bedroom", "Bedroom", None),
        ("what time", "what time is it", None, None),
        ("kitten speaker thanks", "my kitchen speaker please", None, None),
        ("please lights off in the kitchen", "turn off the lights in the kitchen", None, None),
        ("light an off in the kitchen", "light off in the kitchen", None, None),  # "an" misheard
        ("the kitchen lights on", "turn on the lights in the kitchen", None, None),
        ("set the lamp to 40 percent", "set the lamp to 40", None, None),
        ("power down the lamp", "turn off the lamp", None, None),
        ("open up the blinds", "open the blinds", None, None),
    ],
)
def test_guard_reasons(source: str, target: str, area: str | None, why: str | None) -> None:
    assert GUARD.reason(source, target, area) == why


def test_who_may_do_what() -> None:
    # contradictions are in no allowance; guesses need evidence in proportion
    contradictions = {
        "opposite action",
        "changes the action",
        "command to question",
        "question to command",
        "drops the action",
        "replays a correction",
        "changes a place",
        "drops a place",
        "drops a name",
        "adds a place",
        "picks an action",
        "drops an amount",
    }
    assert not contradictions & (OFFLINE_MAY | OWN_HISTORY_MAY | OWN_ROW_MAY)
    assert OFFLINE_MAY <= OWN_ROW_MAY and OWN_HISTORY_MAY <= OWN_ROW_MAY


def _table() -> RewriteTable:
    table = RewriteTable.from_rows(
        [
            {
                "source": "whats portland weather",
                "rewrite": "what is the weather in portland oregon",
                "score": 0.9,
                "support": 3,
                "layer": layer,
                "user_id": user,
            }
            for layer, user in (("global", None), ("personal", "u1"))
        ]
    )
    table.guard = GUARD
    return table


def test_only_the_speakers_own_row_may_narrow_a_name() -> None:
    table = _table()
    mine = table.rewrite(RewriteRequest("whats portland weather", user_id="u1"))
    assert mine is not None and mine.layer == "personal"
    assert table.rewrite(RewriteRequest("whats portland weather", user_id="u2")) is None
    table.personal = False  # the personal layer off: the global row alone may not
    assert table.rewrite(RewriteRequest("whats portland weather", user_id="u1")) is None
