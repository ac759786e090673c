"""Every turn reaches the store in the §3.1 format, with what Home Assistant knows; an
undo by hand within the window is recorded with its turn; reactions in words and teaching."""

from __future__ import annotations

import asyncio

from homeassistant.core import Context, HomeAssistant

from .conftest import ServiceProcess, add_selflearn, drain, say, setup_home


async def test_turns_reach_the_store_with_what_home_assistant_knows(
    hass: HomeAssistant, service: ServiceProcess
) -> None:
    home = await setup_home(hass)
    entry_id, agent = await add_selflearn(hass, service, window_s=1)
    user = await hass.auth.async_create_user("Ann", group_ids=["system-admin"])
    # 1. an action undone by hand: the assistant turns the kitchen light off, the user
    #    switches it back on at the wall (a change with no user and no parent: the device)
    await say(hass, agent, "turn off the kitchen light", user_id=user.id, device=home["satellite"])
    assert hass.states.get("light.kitchen_light").state == "off"
    await hass.services.async_call(
        "light", "turn_on", {"entity_id": "light.kitchen_light"}, blocking=True
    )
    # 2. another device switched instead: the assistant turns off the ceiling light, the
    #    user turns off the desk lamp by hand
    await say(hass, agent, "turn off the ceiling light", user_id=user.id, device=home["satellite"])
    await hass.services.async_call(
        "light",
        "turn_off",
        {"entity_id": "light.desk_lamp"},
        blocking=True,
        context=Context(user_id=user.id),
    )
    # 3. playback stopped right after the assistant started it
    await hass.services.async_call(
        "media_player",
        "media_pause",
        {"entity_id": "media_player.kitchen_speaker"},
        blocking=True,
    )
    resumed = await say(
        hass, agent, "resume the kitchen speaker", user_id=user.id, device=home["satellite"]
    )
    assert hass.states.get("media_player.kitchen_speaker").state == "playing", (
        resumed.response.speech
    )
    await hass.services.async_call(
        "media_player", "media_stop", {"entity_id": "media_player.kitchen_speaker"}, blocking=True
    )
    # 4. a failure and a question
    await say(hass, agent, "turn of the kitchen light", user_id=user.id, device=home["satellite"])
    await say(hass, agent, "is the kitchen light on", user_id=user.id, device=None)
    # 5. an action nobody touched afterwards
    await say(hass, agent, "turn off the bed light", user_id=user.id, device=None)
    await asyncio.sleep(1.2)
    await drain(hass, entry_id)
    runtime = hass.config_entries.async_get_entry(entry_id).runtime_data
    assert runtime.counters["turns_logged"] == 6
    service.stop()

    turns = {t["asr"]["text"]: t for t in service.stored()}
    assert len(turns) == 6
    off = turns["turn off the kitchen light"]
    assert off["schema_version"] == "2"
    assert off["user_id"] and off["user_id"] != user.id  # pseudonymised by the service
    assert off["device_id"] == home["satellite"] and off["device_type"] == "satellite"
    assert off["nlu"]["intent"] == "HassTurnOff" and off["nlu"]["domain"] == "light"
    assert off["nlu"]["slots"]["name"] == "kitchen light"
    assert off["resolution"]["status"] == "ok"
    assert off["resolution"]["entities"][0]["entity_id"] == "light.kitchen_light"
    assert off["response"]["status"] == "success" and off["response"]["text"]
    assert off["context"]["area"] == "Kitchen"
    assert off["context"]["device_states"]["light.kitchen_light"] == "on"  # at request time
    assert off["context"]["local_time"] and off["context"]["weekday"] is not None
    assert [(a["entity_id"], a["kind"], a["state"], a["source"]) for a in off["after_action"]] == [
        ("light.kitchen_light", "undone", "on", "device")
    ]
    assert 0 < off["after_action"][0]["after_ms"] < 1000

    ceiling = turns["turn off the ceiling light"]
    assert [(a["entity_id"], a["kind"], a["source"]) for a in ceiling["after_action"]] == [
        ("light.desk_lamp", "other_device", "user")
    ]
    resume = turns["resume the kitchen speaker"]
    assert resume["nlu"]["intent"] == "HassMediaUnpause"
    assert [(a["entity_id"], a["kind"]) for a in resume["after_action"]] == [
        ("media_player.kitchen_speaker", "stopped")
    ]
    failed = turns["turn of the kitchen light"]
    assert failed["response"]["status"] == "no_valid_targets"
    assert failed["resolution"]["status"] == "no_match"
    assert failed["after_action"] is None  # nothing was done, nothing to watch
    question = turns["is the kitchen light on"]
    assert question["response"]["status"] == "success"
    assert question["device_type"] == "browser" and question["context"]["area"] is None
    assert turns["turn off the bed light"]["after_action"] == []  # watched, nobody touched it


async def test_reactions_in_words_and_teaching(
    hass: HomeAssistant, service: ServiceProcess
) -> None:
    home = await setup_home(hass)
    entry_id, agent = await add_selflearn(hass, service, window_s=5)
    user = await hass.auth.async_create_user("Ann", group_ids=["system-admin"])
    sat = home["satellite"]
    await say(hass, agent, "turn off the desk lamp", user_id=user.id, device=sat)
    # "that's wrong" judges the turn before; the agent answers it itself
    verdict = await say(hass, agent, "that's wrong", user_id=user.id, device=sat)
    assert "noted" in verdict.response.speech["plain"]["speech"].lower()
    # "no, I meant …": the request is what is acted on, and the turn before is judged
    assert hass.states.get("light.ceiling_light").state == "on"
    await say(hass, agent, "no, I meant turn off the ceiling light", user_id=user.id, device=sat)
    assert hass.states.get("light.ceiling_light").state == "off"
    # teaching reaches the service's teacher, and its answer is spoken
    taught = await say(
        hass, agent, "by the big light I mean the ceiling light", user_id=user.id, device=sat
    )
    spoken = taught.response.speech["plain"]["speech"]
    assert spoken.startswith("Got it"), spoken
    await hass.services.async_call(
        "light", "turn_on", {"entity_id": "light.ceiling_light"}, blocking=True
    )
    await asyncio.sleep(0.1)
    big = await say(hass, agent, "turn off the big light", user_id=user.id, device=sat)
    assert big.response.error_code is None, big.response.speech
    assert hass.states.get("light.ceiling_light").state == "off"
    runtime = hass.config_entries.async_get_entry(entry_id).runtime_data
    assert runtime.counters["taught"] == 1
    for entity in ("light.ceiling_light", "light.desk_lamp"):
        await hass.services.async_call("light", "turn_on", {"entity_id": entity}, blocking=True)
    await drain(hass, entry_id, timeout_s=30)  # releases what is due only
    await asyncio.sleep(5.2)
    await drain(hass, entry_id)
    service.stop()
    turns = {t["asr"]["text"]: t for t in service.stored()}
    assert turns["turn off the desk lamp"]["feedback"] == "negative"
    assert turns["that's wrong"]["nlu"]["intent"] == "selflearn.feedback"
    meant = turns["no, I meant turn off the ceiling light"]
    assert meant["rewrite"]["to"] == "turn off the ceiling light"
    assert meant["rewrite"]["layer"] == "said"
    assert meant["nlu"]["intent"] == "HassTurnOff"
    assert turns["by the big light I mean the ceiling light"]["nlu"]["intent"] == "selflearn.teach"
    assert turns["turn off the big light"]["rewrite"]["to"] == "turn off the ceiling light"
