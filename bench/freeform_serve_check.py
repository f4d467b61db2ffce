"""Free-form questions asked of a running model server as a client asks them: the `openai`
client, default settings, the user's own numbers and no structured input.

    .venv/bin/health-training serve &                      # the served model (production/staging)
    .venv/bin/python bench/freeform_serve_check.py --models health-query-olmo health-query-olmo@base

The questions (`bench/data/freeform_heldout.jsonl`, 40, written by hand for this check and never
used to write training data) state their numbers in words people use; each names the values an
answer must state (`asked`: the number the question is about, or the result of the computation
it asks for) or says the data cannot answer it. Per model:
  * unsupported numbers: numbers of the answers that neither the question, the values derived
    from it (its computed line too, as the server hands it to the model) nor the clinical
    reference table support (ml/evaluation/grounding.py, the server's own rule),
    over all numbers of the answers; refused answers (422) state no number and are counted apart,
    as are server errors (5xx: a crash on one question is a failed answer, not a stopped run);
  * contradicting their numbers: answers stating a comparison their own numbers contradict
    (ml/evaluation/stated_comparisons.py, the server's second guard rule);
  * stopped by themselves: `finish_reason == "stop"`; of them, the answers whose EOS the server
    withheld for a while because they had not yet stated a value of each part of the computed
    line (serving/line_coverage.py; `eos_withheld` in the response) are counted apart too;
  * addressed: every asked value stated correctly (freeform_eval.stated_correctly), or, for a
    question the data cannot answer, the answer says so (freeform_eval.CANNOT_ANSWER).
Answers and figures go to `--out` (JSON) for reading.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def ask_all(client, model: str, questions: list[dict]) -> list[dict]:
    import openai

    out = []
    for q in questions:
        try:
            r = client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": q["question"]}]
            )
            extra = r.model_extra.get("health_training") or {}
            out.append(
                {
                    "answer": r.choices[0].message.content or "",
                    "finish_reason": r.choices[0].finish_reason,
                    "grounding": extra.get("grounding"),
                    "server_unsupported": extra.get("unsupported_numbers", []),
                    "eos_withheld": extra.get("eos_withheld", 0),
                }
            )
        except openai.UnprocessableEntityError as exc:  # the server refused an ungrounded answer
            out.append({"answer": "", "finish_reason": "refused", "refusal": str(exc)[:300]})
        except openai.InternalServerError as exc:  # a 5xx: a failed answer, the run goes on
            out.append({"answer": "", "finish_reason": "server_error", "error": str(exc)[:300]})
    return out


def score(questions: list[dict], answers: list[dict]) -> dict:
    from health_training.etl.computed import computed_facts
    from health_training.ml.evaluation.freeform_eval import CANNOT_ANSWER, stated_correctly
    from health_training.ml.evaluation.grounding import check_grounding
    from health_training.ml.evaluation.stated_comparisons import contradicted_comparisons

    numbers = unsupported = stopped = addressed = refused = contradicted = failed = 0
    withheld = withheld_addressed = 0
    for q, a in zip(questions, answers, strict=True):
        if a["finish_reason"] in ("refused", "server_error"):
            refused += a["finish_reason"] == "refused"
            failed += a["finish_reason"] == "server_error"
            a["addressed"] = False
            continue
        # The request as the server hands it to the model: the question and its computed line
        # (values derived by the writer's rules: a share of two stated numbers, a balance).
        question, _, context = q["question"].partition("\n\n")
        g = check_grounding(a["answer"], f"{q['question']}\n{computed_facts(question, context)}")
        a["unsupported"] = [str(v.value) for v in g.hallucinated_values]
        numbers += g.numbers_in_answer
        unsupported += g.hallucinated
        a["contradicted"] = list(contradicted_comparisons(a["answer"]))
        contradicted += bool(a["contradicted"])
        stopped += a["finish_reason"] == "stop"
        if q.get("cannot_answer"):
            ok = bool(CANNOT_ANSWER.search(a["answer"])) and not g.hallucinated
        else:
            ok = all(stated_correctly(a["answer"], asked) for asked in q["asked"])
        a["addressed"] = ok
        addressed += ok
        if a.get("eos_withheld"):
            withheld += 1
            withheld_addressed += ok
    n = len(questions)
    return {
        "questions": n,
        "numbers_in_answers": numbers,
        "unsupported_numbers": unsupported,
        "unsupported_share": unsupported / numbers if numbers else 0.0,
        "answers_contradicting_their_numbers": contradicted,
        "stopped_by_themselves": stopped,
        "refused": refused,
        "server_errors": failed,  # 5xx answers: neither stopped nor addressed
        "addressed": addressed,
        "eos_withheld": withheld,  # answers whose EOS waited for the line's values
        "eos_withheld_addressed": withheld_addressed,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default="http://127.0.0.1:8000/v1")
    p.add_argument("--api-key", default="local")
    p.add_argument("--models", nargs="+", default=["health-query-olmo"])
    p.add_argument("--questions", type=Path, default=HERE / "data" / "freeform_heldout.jsonl")
    p.add_argument("--out", type=Path, default=Path("freeform_serve_check.json"))
    p.add_argument("--rescore", type=Path, help="score the answers of an earlier --out again")
    args = p.parse_args()
    import openai

    client = openai.OpenAI(base_url=args.url, api_key=args.api_key, timeout=600, max_retries=0)
    questions = [json.loads(line) for line in args.questions.read_text().splitlines() if line]
    earlier = json.loads(args.rescore.read_text()) if args.rescore else {}
    report = {}
    for model in earlier or args.models:
        answers = earlier[model]["answers"] if earlier else ask_all(client, model, questions)
        figures = score(questions, answers)
        report[model] = {"figures": figures, "answers": answers}
        print(model, json.dumps(figures))
    args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
