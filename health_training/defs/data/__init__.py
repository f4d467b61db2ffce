"""The data domain: monthly narratives, the training dataset and its OpenAI export, feedback
corrections, rated answers as preference data, and their checks."""

import dagster as dg

from health_training.defs.data.checks import min_examples_per_split, split_leakage
from health_training.defs.data.datasets import openai_chat_dataset, training_dataset
from health_training.defs.data.feedback_examples import feedback_examples
from health_training.defs.data.narratives import curated_narratives, raw_narratives
from health_training.defs.data.preference import preference_dataset

defs = dg.Definitions(
    assets=[raw_narratives, curated_narratives, feedback_examples, training_dataset,
            openai_chat_dataset, preference_dataset],
    asset_checks=[min_examples_per_split, split_leakage],
)  # fmt: skip
