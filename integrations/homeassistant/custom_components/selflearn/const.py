"""Names and defaults of the selflearn integration."""

from __future__ import annotations

DOMAIN = "selflearn"

CONF_URL = "url"
CONF_TOKEN = "token"
CONF_AGENT = "agent_id"
CONF_BUDGET_MS = "budget_ms"
CONF_SHADOW = "shadow"
CONF_WINDOW_S = "window_s"

DEFAULT_URL = "http://127.0.0.1:8321"
# The agent Home Assistant answers with when none is chosen: its own, local one.
DEFAULT_AGENT = "conversation.home_assistant"
DEFAULT_BUDGET_MS = 50
DEFAULT_WINDOW_S = 20

# Sending the log: a batch at most this large, at least this often while events wait,
# backing off up to MAX_BACKOFF_S while the service cannot be reached.
BATCH_SIZE = 100
SEND_EVERY_S = 2.0
MAX_BACKOFF_S = 300.0
# Events kept while the service is away; past this the oldest are dropped (and counted).
MAX_QUEUED = 20_000
STORAGE_VERSION = 1
STORAGE_KEY = "selflearn.queue"

# What a turn's event carries of the room: at most this many exposed entities' states.
MAX_CONTEXT_STATES = 60
# A reaction ("no, that's wrong", "thanks") judges the turn before it when it comes this soon.
FEEDBACK_WINDOW_S = 120.0

COUNTERS = ("turns_logged", "rewrites_applied", "fail_opens", "feedback", "taught")
