"""The PHI engine's memos live in one bounded `PhiCaches`: a test can run on its own, cold caches,
the answers do not depend on what is cached, and no memo grows past its limit."""

from __future__ import annotations

import threading

from health_training.data.phi import find_phi, scrub_many, scrub_phi
from health_training.data.phi.caches import PhiCaches, active

TEXTS = [
    "Glucose averaged 142 mg/dL with 71% of readings in range.",
    "Maude Wunsch called from 555-201-7788 about her sleep.",
    "Resting heart rate was 58 bpm on Tuesday.",
    "Send the strips to 418 Olson Rd, Springfield.",
]


def test_own_caches_start_cold_and_leave_the_default_alone():
    default = active()
    before = default.sizes()
    with PhiCaches().activated() as mine:
        assert active() is mine and not any(mine.sizes().values())
        scrub_many(TEXTS)
        sizes = mine.sizes()
    assert sizes["clean"] and sizes["known"] and sizes["gate_cleared"]
    assert active() is default and default.sizes() == before


def test_answers_do_not_depend_on_the_caches():
    with PhiCaches().activated():
        cold = scrub_many(TEXTS)
        warm = scrub_many(TEXTS)  # every verdict now comes from the memos
        found = [find_phi(t) for t in TEXTS]
    with PhiCaches().activated():
        one_by_one = [scrub_phi(t) for t in TEXTS]
    assert cold == warm == one_by_one
    assert [list(r.findings) for r in cold] == found


def test_no_memo_grows_past_its_limit():
    limits = PhiCaches(max_clean_texts=5, max_segments=3, max_words=20)
    with limits.activated():
        for i in range(60):
            scrub_phi(f"Reading {i}: Patient Kowalczyk{i} walked {i} steps near Zorbowitz{i} Lane.")
            sizes = limits.sizes()
            # A memo is emptied when the next call would pass its limit, so it holds at most the
            # limit plus what one call adds (one text: a handful of words).
            assert sizes["clean"] <= 5 + 1 and sizes["entities"] <= 3 + 1
            assert all(sizes[k] <= 20 + 12 for k in ("gate_cleared", "known", "not_glued"))


def test_activation_is_per_thread():
    seen: list[PhiCaches] = []
    with PhiCaches().activated() as mine:
        thread = threading.Thread(target=lambda: seen.append(active()))
        thread.start()
        thread.join()
    assert seen and seen[0] is not mine
