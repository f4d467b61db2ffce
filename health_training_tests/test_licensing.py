"""LICENSE is the Apache License 2.0 that pyproject names, and NOTICE lists every third-party file.

NOTICE's table ("path | what and where from | licence", one row a line) is the source of truth: a
row must name a file that exists, and every lexicon whose header names an outside source (Faker,
WordNet, the Census, the USPS, ...) must have a row, so a new generated lexicon cannot slip in
without its licence.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LEXICONS = REPO / "health_training" / "data" / "lexicons"
# md5 of https://www.apache.org/licenses/LICENSE-2.0.txt, the text every Apache-2.0 project copies.
APACHE_2_MD5 = "3b83ef96387f14655fc854ddc3c6bd57"
ROW = re.compile(r"^(?P<path>[\w./-]+) \| (?P<what>.+) \| (?P<licence>[^|]+)$")
# Words in a lexicon's header comment that say its content came from somewhere else (a mere
# mention, "words that WordNet leaves out", is not a source).
OUTSIDE_SOURCE = re.compile(r"Faker \d|WordNet 3\.0 lemmas|drug-named|[Cc]ensus|USPS|SSA\b|\(MIT")
# Lexicons that are third-party whatever their header says.
ALWAYS_LISTED = {"safe_words.txt", "person_names.txt", "countries.txt"}


def notice_rows() -> dict[str, str]:
    """path -> licence of each row of NOTICE's table."""
    lines = (REPO / "NOTICE").read_text(encoding="utf-8").splitlines()
    return {m["path"]: m["licence"] for line in lines if (m := ROW.match(line))}


def header(path: Path) -> str:
    lines = path.read_text(encoding="utf-8").splitlines()
    out = []
    for line in lines:
        if not line.startswith("#"):
            break
        out.append(line)
    return "\n".join(out)


def test_license_is_the_apache_2_text_pyproject_names():
    text = (REPO / "LICENSE").read_bytes()
    assert hashlib.md5(text).hexdigest() == APACHE_2_MD5, "LICENSE is not the unmodified text"
    assert b"TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"


def test_every_notice_row_names_a_file_that_exists():
    rows = notice_rows()
    assert rows, "NOTICE has no 'path | source | licence' table"
    missing = [path for path in rows if not (REPO / path).is_file()]
    assert not missing, f"NOTICE lists files that do not exist: {missing}"
    assert all(licence.strip() for licence in rows.values())


def test_notice_lists_every_third_party_lexicon():
    listed = {Path(p).name for p in notice_rows() if p.startswith("health_training/data/lexicons/")}
    outside = {p.name for p in LEXICONS.glob("*.txt") if OUTSIDE_SOURCE.search(header(p))}
    unlisted = sorted((outside | ALWAYS_LISTED) - listed)
    assert not unlisted, f"NOTICE: add a 'path | source | licence' row for lexicons {unlisted}"


def test_notice_carries_the_wordnet_notice():
    # WordNet's licence requires its copyright notice and disclaimer on every copy.
    text = " ".join((REPO / "NOTICE").read_text(encoding="utf-8").split())
    assert "WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved." in text
    assert 'THIS SOFTWARE AND DATABASE IS PROVIDED "AS IS" AND PRINCETON UNIVERSITY' in text
