"""The language model itself: the base-model catalog, loading and merging, prompt formatting,
packing for training, batched decoding with its per-row KV cache, and the two small models we
can always build offline (SmolLM2 from a wheel, a tiny random Llama for tests)."""
