"""The service (DESIGN §3.5): ingest, rewrite, teach and report over HTTP.

``create_app(settings)`` (FastAPI) is what ``selflearn serve`` runs; :class:`Service` is the
library object behind it; :class:`Client` is what an assistant uses to talk to it.
Needs the ``serve`` extra (``pip install 'selflearn[serve]'``).
"""

from __future__ import annotations

import typing

from selflearn._lazy import lazy_names

if typing.TYPE_CHECKING:
    from selflearn.service.app import create_app
    from selflearn.service.client import Client
    from selflearn.service.core import LearningRun, Service
    from selflearn.service.settings import ServiceSettings
    from selflearn.service.versions import ArtefactVersions

__all__ = ["ArtefactVersions", "Client", "LearningRun", "Service", "ServiceSettings", "create_app"]

# name → the module it comes from (FastAPI is imported only when the app is built)
_WHERE = {
    "ArtefactVersions": "selflearn.service.versions",
    "Client": "selflearn.service.client",
    "LearningRun": "selflearn.service.core",
    "Service": "selflearn.service.core",
    "ServiceSettings": "selflearn.service.settings",
    "create_app": "selflearn.service.app",
}
__getattr__, __dir__ = lazy_names(__name__, _WHERE)
