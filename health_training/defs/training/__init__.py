"""The training domain: the LoRA adapter, its evaluation and emissions, and the OpenAI
fine-tuning provider."""

import dagster as dg

from health_training.defs.training.adapter import lora_adapter
from health_training.defs.training.emissions import emissions_report
from health_training.defs.training.eval_report import eval_report
from health_training.defs.training.openai_provider import openai_fine_tuned_model

defs = dg.Definitions(assets=[lora_adapter, eval_report, emissions_report, openai_fine_tuned_model])
