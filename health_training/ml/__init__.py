"""The model plane, without Dagster: `lm/` (base models, prompts, decoding), `training/` (LoRA
fine-tuning; CLI `python -m health_training.ml.train`), `evaluation/` (metrics, runs, the
report), `registry/` (MLflow tracking, promotion, the gate), `emissions/` (carbon accounting),
`openai/` (OpenAI fine-tuning as a trainer) and `preference/` (DPO / KTO on rated answers)."""
