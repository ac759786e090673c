"""What Home Assistant knows of a request, as a selflearn turn event (DESIGN §3.1).

The room comes from the registries as Home Assistant resolves it itself: a satellite's
entity area, else its device's area; a device's area. The area's exposed entities' states at
request time are the event's context; the matched intent, its slots and the targets (as the
resolution) and the response's type and error code come from the wrapped agent's answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from homeassistant.components.homeassistant.exposed_entities import async_should_expose
from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import intent
from homeassistant.util import dt as dt_util

from .const import MAX_CONTEXT_STATES

SCHEMA_VERSION = "2"
# Home Assistant's error codes that the contract shares; any other is "unknown".
_STATUSES = {"no_intent_match", "no_valid_targets", "failed_to_handle", "unknown"}


@dataclass
class Where:
    """The device that heard a request and the room it is in."""

    device_id: str
    device_type: str
    area_id: str | None = None
    area: str | None = None
    states: dict[str, str] = field(default_factory=dict)


def locate(hass: HomeAssistant, device_id: str | None, satellite_id: str | None) -> Where:
    """The device, its kind, its area and the area's exposed entities' states."""
    devices, entities = dr.async_get(hass), er.async_get(hass)
    area_id: str | None = None
    device = devices.async_get(device_id) if device_id else None
    satellite = entities.async_get(satellite_id) if satellite_id else None
    if satellite is not None:
        area_id = satellite.area_id
        if area_id is None and satellite.device_id:
            owner = devices.async_get(satellite.device_id)
            area_id = owner.area_id if owner else None
            device = device or owner
    if area_id is None and device is not None:
        area_id = device.area_id
    kind = _device_type(entities, device) if device else "browser"
    name = None
    if area_id:
        found = ar.async_get(hass).async_get_area(area_id)
        name = found.name if found else None
    ident = device.id if device else (satellite_id or "homeassistant")
    return Where(ident, kind, area_id, name, area_states(hass, area_id))


def _device_type(entities: er.EntityRegistry, device: dr.DeviceEntry) -> str:
    domains = {e.domain for e in er.async_entries_for_device(entities, device.id)}
    if "assist_satellite" in domains:
        return "satellite"
    if device.entry_type is None and "mobile_app" in _integrations(device):
        return "phone"
    if "media_player" in domains:
        return "display" if "camera" in domains else "speaker"
    return "device"


def _integrations(device: dr.DeviceEntry) -> set[str]:
    return {domain for domain, _ in device.identifiers}


def area_states(hass: HomeAssistant, area_id: str | None) -> dict[str, str]:
    """entity_id → state of the entities exposed to Assist in ``area_id``."""
    if not area_id:
        return {}
    devices, entities = dr.async_get(hass), er.async_get(hass)
    ids = {e.entity_id for e in er.async_entries_for_area(entities, area_id)}
    for device in dr.async_entries_for_area(devices, area_id):
        ids.update(
            e.entity_id
            for e in er.async_entries_for_device(entities, device.id)
            if e.area_id in (None, area_id)
        )
    states: dict[str, str] = {}
    for entity_id in sorted(ids):
        state = hass.states.get(entity_id)
        if state is None or not async_should_expose(hass, "conversation", entity_id):
            continue
        states[entity_id] = state.state
        if len(states) >= MAX_CONTEXT_STATES:
            break
    return states


def status_of(response: intent.IntentResponse) -> str:
    """The contract's response status for Home Assistant's answer."""
    if response.response_type != intent.IntentResponseType.ERROR:
        return "success"
    code = response.error_code.value if response.error_code else "unknown"
    return code if code in _STATUSES else "unknown"


def speech_of(response: intent.IntentResponse) -> str:
    plain = response.speech.get("plain") or next(iter(response.speech.values()), {})
    return str(plain.get("speech", "")) if isinstance(plain, dict) else ""


def _slots(found: intent.Intent | None) -> dict[str, Any]:
    if found is None:
        return {}
    slots: dict[str, Any] = {}
    for name, slot in (found.slots or {}).items():
        value = slot.get("text", slot.get("value")) if isinstance(slot, dict) else slot
        if isinstance(value, (str, int, float, bool)) or value is None:
            slots[name] = value
        elif isinstance(value, (list, tuple)):
            slots[name] = [v if isinstance(v, (str, int, float, bool)) else str(v) for v in value]
        else:
            slots[name] = str(value)
    return slots


def targets_of(response: intent.IntentResponse) -> list[str]:
    """The entity ids the agent acted on."""
    return [
        t.id
        for t in response.success_results
        if t.id and t.type == intent.IntentResponseTargetType.ENTITY
    ] or [s.entity_id for s in response.matched_states]


def _resolution(response: intent.IntentResponse) -> dict[str, Any] | None:
    entities = []
    for results, found in ((response.success_results, True), (response.failed_results, False)):
        for target in results:
            if target.type != intent.IntentResponseTargetType.ENTITY:
                continue
            entities.append(
                {
                    "slot": "name",
                    "value": target.name,
                    "entity_id": target.id if found else None,
                    "score": None,
                }
            )
    if response.error_code == intent.IntentResponseErrorCode.NO_VALID_TARGETS:
        return {"status": "no_match", "entities": entities}
    if not entities:
        return None
    return {"status": "ok" if not response.failed_results else "no_match", "entities": entities}


def build_event(
    *,
    turn_id: str,
    ts: float,
    heard: str,
    conversation_id: str | None,
    user_id: str | None,
    where: Where,
    language: str,
    response: intent.IntentResponse,
    rewrite: dict[str, Any] | None,
) -> dict[str, Any]:
    """The turn event of one request (a plain JSON object, ready to queue and send)."""
    found = response.intent
    targets = targets_of(response)
    domains = sorted({t.split(".", 1)[0] for t in targets})
    now = dt_util.as_local(dt_util.utc_from_timestamp(ts))
    return {
        "schema_version": SCHEMA_VERSION,
        "turn_id": turn_id,
        "session_id": conversation_id,
        "user_id": user_id,
        "device_id": where.device_id,
        "device_type": where.device_type,
        "ts": ts,
        "asr": {"text": heard, "confidence": None, "nbest": []},
        "nlu": {
            "intent": found.intent_type if found else None,
            "domain": domains[0] if len(domains) == 1 else None,
            "slots": _slots(found),
            "confidence": None,
        },
        "resolution": _resolution(response),
        "response": {"text": speech_of(response), "status": status_of(response)},
        "context": {
            "area": where.area,
            "device_states": where.states,
            "local_time": now.strftime("%H:%M"),
            "weekday": now.weekday(),
            "language": language,
            "area_id": where.area_id,
        },
        "rewrite": rewrite,
    }
