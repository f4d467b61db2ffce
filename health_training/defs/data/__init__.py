"""The data domain: monthly narratives, the training dataset and its OpenAI export, feedback
corrections, and their checks."""

import dagster as dg

from health_training.defs.data.checks import min_examples_per_split, split_leakage
from health_training.defs.data.datasets import openai_chat_dataset, training_dataset
from health_training.defs.data.feedback import feedback_examples
from health_training.defs.data.narratives import curated_narratives, raw_narratives

defs = dg.Definitions(
    assets=[raw_narratives, curated_narratives, feedback_examples, training_dataset,
            openai_chat_dataset],
    asset_checks=[min_examples_per_split, split_leakage],
)  # fmt: skip
