"""Scoring answers: text metrics, number faithfulness, fact statements, paired bootstrap
intervals, the optional LLM judge, evaluation runs (an adapter against its base, a registered
version again) and the evaluation report with its charts."""
