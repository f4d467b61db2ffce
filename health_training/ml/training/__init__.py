"""LoRA / QLoRA fine-tuning: the typed config, a run's identity, result and resume check, the SFT
loop, the sampled train rows, progress lines, and a run's files in storage. The CLI is
`python -m health_training.ml.train`; the preference stage (ml/preference/) builds on this."""
