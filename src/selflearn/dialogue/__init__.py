"""One dialogue model for failure points and generated labels (DESIGN §2 items 7–8).

``features`` reads turns from any turn log; ``annotate`` picks turns for people to label and
defines the label and failure-point files; ``learner`` (torch) pre-trains and fine-tunes the model;
``labeler`` (torch) runs it over a log; ``metrics`` scores it against ground truth.
"""

from selflearn.dialogue.annotate import (
    ANNOTATOR_ERROR,
    FAILURE_POINTS,
    pick_for_annotation,
    read_failure_points,
    read_labels,
    simulated_annotations,
    write_labels,
)
from selflearn.dialogue.features import TurnFeatures, Vocabulary, flat_turns, turn_features

__all__ = [
    "ANNOTATOR_ERROR",
    "FAILURE_POINTS",
    "TurnFeatures",
    "Vocabulary",
    "flat_turns",
    "pick_for_annotation",
    "read_failure_points",
    "read_labels",
    "simulated_annotations",
    "turn_features",
    "write_labels",
]
