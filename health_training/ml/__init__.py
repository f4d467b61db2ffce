"""Pure model plane: base models, prompt formatting, LoRA training, metrics, emissions, registry."""
