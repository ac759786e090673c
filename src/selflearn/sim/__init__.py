"""Traffic for the reference assistant: requests sampled from the templates over a home."""

from selflearn.sim.requests import Request, RequestSampler

__all__ = ["Request", "RequestSampler"]
