"""The service (DESIGN §3.5): ingest, rewrite, teach and report over HTTP.

``create_app(settings)`` (FastAPI) is what ``selflearn serve`` runs; :class:`Service` is the
library object behind it; :class:`Client` is what an assistant uses to talk to it.
Needs the ``serve`` extra (``pip install 'selflearn[serve]'``).
"""

from selflearn.service.client import Client
from selflearn.service.core import LearningRun, Service
from selflearn.service.settings import ServiceSettings
from selflearn.service.versions import ArtefactVersions

__all__ = ["ArtefactVersions", "Client", "LearningRun", "Service", "ServiceSettings", "create_app"]


def __getattr__(name: str) -> object:
    if name == "create_app":  # FastAPI is imported only when the app is built
        from selflearn.service.app import create_app

        return create_app
    raise AttributeError(name)
