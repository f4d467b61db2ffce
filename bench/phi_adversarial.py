"""Time the PHI engine on hostile input and on realistic text of growing size.

    .venv/bin/python bench/phi_adversarial.py                 # adversarial cases + 1/4/16/64 MB
    .venv/bin/python bench/phi_adversarial.py --sizes 1,4     # quicker

Adversarial cases: strings built to make a regex backtrack (100k digits, "a@" x 100k, dashes,
colons, long runs of capitalized words), mixed scripts, control and binary bytes decoded as
text, lone surrogates. Realistic text: ETL narratives from `generate_corpus` interleaved with
generated labelled notes (`bench/phi_notes.py`, about 2% of the bytes) and MedQuAD answers
(about 10%), one string per size. The figure that matters is seconds per MB staying flat from
1 to 64 MB (linear time); tests assert only that such inputs finish, never a time.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from phi_notes import generate

from health_training.data.phi import find_phi, scrub_phi
from health_training.etl.generator import generate_corpus

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
MB = 2**20

ADVERSARIAL = {
    "100k digits": "1" * 100_000,
    '"a@" x 100k': "a@" * 100_000,
    "100k dashes + a phone": "-" * 100_000 + " 555-123-4567",
    '"ab:" x 100k': "ab:" * 100_000,
    '"1." x 100k': "1." * 100_000,
    "200k capitalized words": "Aaaa Bbbb " * 100_000,
    '"Mr. " x 100k': "Mr. " * 100_000,
    '"IL 62704 " x 100k': "IL 62704 " * 100_000,
    "mixed scripts 1 MB": ("Ωμέγα Привет 你好 مرحبا שלום नमस्ते Müller " * 30_000)[:MB],
    "control bytes 1 MB": ("\x00\x01\x1b\x7f\ufffd" * 210_000)[:MB],
    "binary as latin-1 1 MB": (bytes(range(256)).decode("latin-1") * 4_096)[:MB],
    "lone surrogates": "\ud800 abc \udfff " * 50_000,
    "one 1 MB line, no punctuation": ("word Word " * 110_000)[:MB],
}


def realistic(size: int) -> str:
    """`size` characters of ETL narratives with generated notes and MedQuAD answers mixed in."""
    corpus = generate_corpus([(2025, 1)], users=4, seed=11, phi_note_share=0.02)
    narratives = []
    for data in corpus.files.values():
        for line in data.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            narratives.append(
                f"{record['instruction']}\n{record.get('input') or ''}\n{record['output']}"
            )
    notes = [n.text for n in generate(200, seed=5)]
    answers = [
        json.loads(line)["answer"]
        for line in (SHARED / "medquad_sample_300.jsonl").read_text("utf-8").splitlines()
    ]
    parts: list[str] = []
    total = i = 0
    while total < size:
        piece = narratives[i % len(narratives)]
        if i % 40 == 0:
            piece = notes[i // 40 % len(notes)]
        elif i % 25 == 0:
            piece = answers[i // 25 % len(answers)]
        parts.append(piece)
        total += len(piece) + 2
        i += 1
    return "\n\n".join(parts)[:size]


def timed(text: str) -> tuple[float, int, int]:
    started = time.perf_counter()
    result = scrub_phi(text)
    seconds = time.perf_counter() - started
    residual = len(find_phi(result.text)) if len(text) <= 4 * MB else -1
    return seconds, len(result.findings), residual


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,4,16,64", help="MB of realistic text")
    parser.add_argument("--skip-adversarial", action="store_true")
    args = parser.parse_args()
    scrub_phi("Warm-up: Dr. Alice Morgan, 12 Oak Street.")  # model loading is not timed
    if not args.skip_adversarial:
        print("| case | characters | seconds | findings | residual after scrub |")
        print("|---|---:|---:|---:|---:|")
        for name, text in ADVERSARIAL.items():
            seconds, found, residual = timed(text)
            print(f"| {name} | {len(text):,} | {seconds:.2f} | {found:,} | {residual} |")
    sizes = [int(s) for s in args.sizes.split(",") if s]
    print("\n| realistic text | seconds | seconds per MB | findings | NER share of segments |")
    print("|---|---:|---:|---:|---:|")
    for mb in sizes:
        text = realistic(mb * MB)
        started = time.perf_counter()
        result = scrub_phi(text)
        seconds = time.perf_counter() - started
        share = result.gate.as_dict()["model_share"]
        print(
            f"| {mb} MB | {seconds:.1f} | {seconds / mb:.2f} | {len(result.findings):,} | {share:.1%} |"
        )
        del text, result


if __name__ == "__main__":
    main()
