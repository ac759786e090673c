"""The user simulator: households, goals, phrasings, reactions and ground truth."""

from selflearn.sim.household import Household, User, make_household
from selflearn.sim.reactions import ReactionConfig
from selflearn.sim.requests import Request, RequestSampler
from selflearn.sim.simulator import HouseholdRun, SimConfig, Simulator, population
from selflearn.sim.truth import FAILURE_POINTS, TruthRecord

__all__ = [
    "FAILURE_POINTS",
    "Household",
    "HouseholdRun",
    "ReactionConfig",
    "Request",
    "RequestSampler",
    "SimConfig",
    "Simulator",
    "TruthRecord",
    "User",
    "make_household",
    "population",
]
