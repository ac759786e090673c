"""The turn event: one record per request an assistant handled (DESIGN §3.1).

This module is the single definition of the contract. Every field is documented
where it is declared; ``selflearn schema`` prints the JSON Schema generated from
these models, and :mod:`selflearn.logs.arrow` derives the Parquet columns.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    field_validator,
    model_validator,
)

from selflearn.errors import SchemaError

__all__ = [
    "AFTER_ACTION_KINDS",
    "AFTER_ACTION_SOURCES",
    "FEEDBACK_VALUES",
    "RESOLUTION_STATUSES",
    "RESPONSE_STATUSES",
    "SCHEMA_VERSION",
    "SCHEMA_VERSIONS",
    "AfterAction",
    "Asr",
    "Choice",
    "Context",
    "Hypothesis",
    "Nlu",
    "Option",
    "Resolution",
    "ResolvedEntity",
    "Response",
    "Rewrite",
    "TurnEvent",
    "Wake",
    "json_schema",
    "schema_error_from",
]

SCHEMA_VERSION = "2"
# Version 2 adds ``after_action`` and ``choice``; a version-1 event is a version-2 event
# without them.
SCHEMA_VERSIONS = ("1", "2")
AFTER_ACTION_KINDS = ("undone", "other_device", "stopped", "skipped")
AFTER_ACTION_SOURCES = ("device", "user", "automation")
RESPONSE_STATUSES = (
    "success",
    "no_intent_match",
    "no_valid_targets",
    "failed_to_handle",
    "unknown",
)
RESOLUTION_STATUSES = ("ok", "no_match", "ambiguous")
FEEDBACK_VALUES = ("positive", "negative")

ResponseStatus = Literal[
    "success", "no_intent_match", "no_valid_targets", "failed_to_handle", "unknown"
]
Probability = Field(ge=0.0, le=1.0, allow_inf_nan=False)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Wake(_Strict):
    """What the wake-word detector reported for the turn."""

    word: str = Field(description="The wake word that fired, e.g. 'hey jarvis'.")
    score: float = Field(
        ge=0.0, le=1.0, allow_inf_nan=False, description="Detector score in [0, 1]."
    )


class Hypothesis(_Strict):
    """One alternative transcript of the recogniser."""

    text: str = Field(description="Transcript text.")
    confidence: float | None = Field(
        default=None, ge=0.0, le=1.0, allow_inf_nan=False, description="Confidence in [0, 1]."
    )


class Asr(_Strict):
    """Speech recognition output."""

    text: str = Field(description="The recogniser's best transcript (what the assistant acted on).")
    confidence: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        allow_inf_nan=False,
        description="Confidence of the best transcript in [0, 1]; null when the recogniser gives none.",
    )
    nbest: list[Hypothesis] = Field(
        default_factory=list, description="Alternative transcripts, best first; may be empty."
    )


class Nlu(_Strict):
    """Intent understanding output."""

    intent: str | None = Field(
        default=None, description="Recognised intent, null when none matched."
    )
    domain: str | None = Field(default=None, description="Domain of the intent (light, media, …).")
    slots: dict[str, JsonValue] = Field(
        default_factory=dict, description="Slot name → value as understood (names, not entity ids)."
    )
    confidence: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        allow_inf_nan=False,
        description="Intent confidence in [0, 1].",
    )


class ResolvedEntity(_Strict):
    """One slot value resolved to a thing in the home or catalogue."""

    slot: str = Field(description="The slot the value came from (name, area, search_query, …).")
    value: str = Field(description="The value as understood.")
    entity_id: str | None = Field(
        default=None, description="The resolved id; null when unresolved."
    )
    score: float | None = Field(
        default=None, ge=0.0, le=1.0, allow_inf_nan=False, description="Match score in [0, 1]."
    )


class Resolution(_Strict):
    """Entity resolution output."""

    status: Literal["ok", "no_match", "ambiguous"] = Field(
        description="ok: every target resolved; no_match: a name matched nothing; ambiguous: "
        "a name matched several things and context could not decide."
    )
    entities: list[ResolvedEntity] = Field(default_factory=list, description="Resolved targets.")


class Response(_Strict):
    """What the assistant answered."""

    text: str = Field(description="Response text spoken or shown to the user.")
    status: ResponseStatus = Field(
        description="Outcome, in Home Assistant's codes: success, no_intent_match, "
        "no_valid_targets, failed_to_handle, unknown."
    )
    duration_ms: int | None = Field(
        default=None, ge=0, description="How long the response lasted (speech), in ms."
    )


class Rewrite(_Strict):
    """Set when selflearn changed the utterance before intent matching."""

    from_: str = Field(alias="from", description="The utterance as recognised.")
    to: str = Field(description="The utterance the assistant acted on instead.")
    layer: str = Field(description="Which learner layer rewrote it: offline, global, personal, …")
    score: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        allow_inf_nan=False,
        description="Estimated success probability.",
    )


class Option(_Strict):
    """One interpretation the rewriter held close for a request."""

    text: str = Field(description="The words the assistant would act on.")
    layer: str = Field(
        description="Where it came from: heard (the words as recognised), "
        "offline, global, personal, …"
    )
    score: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        allow_inf_nan=False,
        description="The layer's estimate that it is right (null for the words as heard).",
    )


class Choice(_Strict):
    """Set when selflearn chose among interpretations it held close (schema 2): what it
    could have served, what it served and with what probability. Logged for every such
    request, explored or not, so a policy can be evaluated off-policy from the log."""

    options: list[Option] = Field(
        min_length=2, description="The interpretations; the first is the words as heard."
    )
    chosen: int = Field(ge=0, description="Index of the option served.")
    default: int = Field(ge=0, description="Index of the option the rewriter alone would serve.")
    preferred: int = Field(
        ge=0, description="Index of the option the policy would serve without exploring."
    )
    propensity: float = Field(
        gt=0.0,
        le=1.0,
        allow_inf_nan=False,
        description="The probability with which the chosen option was drawn.",
    )
    policy: str = Field(min_length=1, description="Which policy chose (its version).")

    @model_validator(mode="after")
    def _indices(self) -> Choice:
        for name in ("chosen", "default", "preferred"):
            if getattr(self, name) >= len(self.options):
                raise ValueError(f"choice.{name}|an index into options (< {len(self.options)})")
        return self


class AfterAction(_Strict):
    """What happened to a device in the seconds after the assistant acted (schema 2).

    The strongest feedback a smart home has is what people do with their hands right
    after an action: switch back what the assistant switched, switch another device
    instead, stop or skip what it started playing. The producer watches for a short window
    after each turn and lists what it saw; changes made by the assistant itself are not
    listed (they are turns of their own).
    """

    entity_id: str = Field(min_length=1, description="The device (entity) that changed.")
    kind: Literal["undone", "other_device", "stopped", "skipped"] = Field(
        description="undone: a target the assistant changed went back to its earlier state; "
        "other_device: a device it did not target was changed the way it changed a target "
        "(the light next to the one it switched); stopped: a player it started was paused or "
        "stopped; skipped: a player it started went to another item."
    )
    after_ms: int = Field(ge=0, description="ms after the request started that it changed.")
    state: str | None = Field(default=None, description="The state it changed to.")
    source: Literal["device", "user", "automation"] | None = Field(
        default=None,
        description="Who changed it, as far as the producer knows: device (at the device or "
        "its own app), user (a person in the assistant's own app), automation.",
    )


class Context(BaseModel):
    """Where and when the request happened. Free-form beyond the documented keys."""

    model_config = ConfigDict(extra="allow", frozen=True)

    area: str | None = Field(default=None, description="Area (room) of the device that heard it.")
    device_states: dict[str, JsonValue] = Field(
        default_factory=dict, description="entity_id → state at request time (those relevant)."
    )
    local_time: str | None = Field(
        default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="Local time, 'HH:MM'."
    )
    weekday: int | None = Field(default=None, ge=0, le=6, description="0 = Monday … 6 = Sunday.")


class TurnEvent(BaseModel):
    """One turn: a request the assistant handled, every stage's output, and the reaction."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    schema_version: Literal["1", "2"] = Field(
        default="2",
        description="Contract version: '2' (adds after_action and choice); '1' is still read.",
    )
    turn_id: str = Field(min_length=1, description="Unique id of the turn; the idempotency key.")
    session_id: str | None = Field(
        default=None,
        description="The producer's session id; null lets selflearn sessionize by device and gap.",
    )
    user_id: str | None = Field(
        default=None, description="Pseudonymous speaker id; null if unknown."
    )
    device_id: str = Field(min_length=1, description="Device or satellite that heard the request.")
    device_type: str = Field(
        min_length=1, description="Kind of device: speaker, display, satellite, phone, …"
    )
    ts: float = Field(gt=0.0, allow_inf_nan=False, description="Request start, epoch seconds.")
    wake: Wake | None = Field(
        default=None, description="Wake-word detection; null if not wake-started."
    )
    asr: Asr = Field(description="Speech recognition output.")
    nlu: Nlu = Field(default_factory=Nlu, description="Intent understanding output.")
    resolution: Resolution | None = Field(
        default=None, description="Entity resolution; null when the intent has no targets."
    )
    response: Response = Field(description="The assistant's answer and its outcome status.")
    barge_in_ms: int | None = Field(
        default=None, ge=0, description="ms after the response began that the user interrupted it."
    )
    feedback: Literal["positive", "negative"] | None = Field(
        default=None, description="Explicit feedback from the user, if any."
    )
    context: Context = Field(default_factory=Context, description="Area, device states, time.")
    rewrite: Rewrite | None = Field(
        default=None, description="Set when selflearn rewrote the utterance."
    )
    after_action: list[AfterAction] | None = Field(
        default=None,
        description="Schema 2: what users did to devices in the window after the action "
        "(an empty list: watched, nothing happened; null: not watched).",
    )
    choice: Choice | None = Field(
        default=None,
        description="Schema 2: the interpretations selflearn chose among, and the "
        "propensity of its choice (null: there was no choice).",
    )

    @model_validator(mode="after")
    def _versioned(self) -> TurnEvent:
        if self.after_action is not None and self.schema_version == "1":
            raise ValueError("after_action|absent under schema_version '1' (it came with '2')")
        if self.choice is not None and self.schema_version == "1":
            raise ValueError("choice|absent under schema_version '1' (it came with '2')")
        return self

    @field_validator("ts")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be finite")
        return value

    def to_dict(self) -> dict[str, Any]:
        """The event as plain JSON-ready data, with contract field names."""
        return self.model_dump(mode="json", by_alias=True)

    @classmethod
    def from_dict(cls, data: object) -> TurnEvent:
        """Validate ``data``; raise :class:`SchemaError` naming the first bad field."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise schema_error_from(exc) from None

    @classmethod
    def from_json(cls, text: str | bytes) -> TurnEvent:
        """Parse and validate one JSON object."""
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            raise schema_error_from(exc) from None


_ALLOWED_BY_TYPE = {
    "missing": "present",
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "list_type": "a list",
    "extra_forbidden": "absent (not part of the contract)",
    "json_invalid": "valid JSON",
    "bool_type": "true or false",
}


def schema_error_from(exc: ValidationError) -> SchemaError:
    """Turn pydantic's report into one :class:`SchemaError` for the first problem."""
    err = exc.errors(include_url=False)[0]
    loc = ".".join(str(part) for part in err["loc"] if part != "from_") or "<event>"
    loc = loc.replace("from_", "from")
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "literal_error":
        allowed = "one of " + str(ctx.get("expected", "the documented values"))
    elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bounds = {
            "greater_than_equal": ">=",
            "less_than_equal": "<=",
            "greater_than": ">",
            "less_than": "<",
        }
        limit = next(iter(ctx.values()), "?")
        allowed = f"a number {bounds[kind]} {limit}"
    elif kind == "string_too_short":
        allowed = "a non-empty string"
    elif kind == "string_pattern_mismatch":
        allowed = f"a string matching {ctx.get('pattern')}"
    elif kind == "value_error" and "|" in str(ctx.get("error", "")):
        # a rule across fields: the validator names the field ("field|what is allowed")
        loc, allowed = str(ctx["error"]).split("|", 1)
        return SchemaError(loc, None, allowed)
    elif kind == "json_invalid":
        return SchemaError("<line>", None, f"valid JSON ({ctx.get('error')})")
    else:
        allowed = _ALLOWED_BY_TYPE.get(kind, err["msg"])
    value = err.get("input") if kind != "missing" else None
    return SchemaError(loc, value, allowed)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a turn event, as printed by ``selflearn schema``."""
    schema = TurnEvent.model_json_schema(by_alias=True)
    schema["$id"] = f"https://selflearn.invalid/schema/turn-event/v{SCHEMA_VERSION}.json"
    schema["title"] = "selflearn turn event"
    # pydantic leaves a bare $ref without the field's description; JSON Schema 2020-12
    # allows it beside $ref, so every field stays documented.
    for name, info in TurnEvent.model_fields.items():
        prop = schema["properties"][info.alias or name]
        prop.setdefault("description", info.description)
    return schema
