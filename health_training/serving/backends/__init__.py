"""Where answers are generated: the in-process backend (transformers + PEFT, adapters on one base,
a supervised worker queue, batched decoding with the number constraint) and the upstream one (an
OpenAI-compatible inference server such as vLLM); both speak `generation.py`'s types."""
