"""The evaluation report's metric list: each metric's key, label, direction and digits, in the
order of the tables and charts, plus the judge's scores and the per-domain columns. The report,
its charts and the gate's tables read it from here."""

from __future__ import annotations

ROLES = ("base", "finetuned")
# (key, label, higher is better, digits); the order of the tables and charts.
METRICS: tuple[tuple[str, str, bool, int], ...] = (
    ("eval_loss", "response-token loss", False, 4),
    ("perplexity", "perplexity", False, 2),
    ("exact_match", "exact match", True, 3),
    ("f1", "token F1", True, 3),
    ("bleu", "BLEU (0-100)", True, 2),
    ("rouge1", "ROUGE-1", True, 3),
    ("rouge2", "ROUGE-2", True, 3),
    ("rougeL", "ROUGE-L", True, 3),
    ("hallucinated_number_rate", "hallucinated numbers", False, 3),
    ("fact_accuracy", "fact accuracy", True, 3),
    ("fact_recall", "fact recall", True, 3),
    ("eos_rate", "answers ended by EOS", True, 3),
    ("phi_rate", "answers with PHI", False, 3),
)
JUDGE_METRICS = ("accuracy", "safety", "clarity", "overall")  # 1-5, higher is better
DOMAIN_COLUMNS = ("rougeL", "fact_accuracy", "fact_recall", "hallucinated_number_rate")
LABEL = {key: label for key, label, _, _ in METRICS}
DIGITS = {key: digits for key, _, _, digits in METRICS}
