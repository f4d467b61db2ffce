"""Preference tuning: learn from ratings, not only from corrections.

- `examples.py`: rated answers (feedback store rows) → KTO examples and DPO pairs, deduplicated,
  PHI-scrubbed, split by prompt hash with the SFT data's held-out prompts pinned out of training.
- `config.py`: the `preference:` section of a training profile.
- `trainer.py`: the DPO or KTO pass with TRL on the SFT adapter (reference: the adapter itself).
- `stage.py`: that pass as its own resumable run after SFT (`ml.preference.stage.train_with_preference`).
- `clinic.py`: a deterministic simulated clinic that rates answers by their facts.
- `feedback_client.py`: posts ratings to a server's `POST /v1/feedback`.
- `store.py`: a preference dataset read from a feedback store, for runs without Dagster.

Importing this package is cheap: torch, transformers and TRL load inside the functions that need them.
"""
