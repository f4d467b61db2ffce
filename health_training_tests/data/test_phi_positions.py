"""Tests for identifiers after their cues, addresses of many countries and names by position
(issue 20), with hand-made cases in several languages, and the clinical and question text that
must come back unchanged."""

from __future__ import annotations

import pytest

from health_training.data.phi import scrub_phi

# (text, values that must be gone)
CUED = [
    ("my zip code is 40217", ["40217"]),
    ("ZIP: 2750", ["2750"]),
    ("postcode 602 00, Brno", ["602 00"]),
    ("PLZ 10115 Berlin", ["10115"]),
    ("CAP 00184 Roma", ["00184"]),
    ("code postal 75011", ["75011"]),
    ("postal code is 1012 AB", ["1012 AB"]),
    ("kod pocztowy 27-097", ["27-097"]),
    ("Postcode 8706-690 Porto", ["8706-690"]),
    ("call me on 02.41.77.30.19", ["02.41.77.30.19", "41.77"]),
    ("Phone: 47-22-91-08", ["47-22-91-08", "22-91"]),
    ("Mobile: 06.12.44.83.20", ["06.12.44.83.20", "44.83"]),
    ("I'm answering at 61 204 377", ["61 204 377", "204 377"]),
    ("Telefon 0171 2345678", ["2345678"]),
    ("puhelin 040 123 4567", ["123 4567"]),
    ("Cell 06-2/250 4453, ask for the nurse", ["250 4453"]),
    ("fax 06-1/234-5678", ["234-5678"]),
    ("office 68486624", ["68486624"]),
    ("Logged in via fischer.de and banco.es", ["fischer.de", "banco.es"]),
]


@pytest.mark.parametrize(("text", "gone"), CUED)
def test_identifiers_after_their_cue(text: str, gone: list[str]) -> None:
    out = scrub_phi(text).text
    assert [v for v in gone if v in out] == [], out


# (text, values that must be gone, values that must stay)
ADDRESSES = [
    ("Váci u. 27.", ["Váci", "27"], []),
    ("new address: Arany János utca 72., 1st floor", ["Arany", "János", "72"], []),
    ("we moved from Kecskeméti tér 81. last spring", ["Kecskeméti", "81"], ["last spring"]),
    ("Mäkitie 14 Apt. 302", ["Mäkitie", "14", "302"], []),
    ("5521 hovedveien 44 st.", ["hovedveien", "44"], []),
    ("Järnvägstorget 3 is where the pharmacy is", ["Järnvägstorget"], ["the pharmacy"]),
    ("send it to Borgskriverstræde 795", ["Borgskriverstræde", "795"], []),
    ("Nassaustraat 123, 2514 JL Den Haag", ["Nassaustraat", "123", "2514 JL"], []),
    ("Berliner Str. 5, 10115 Berlin", ["Berliner", "10115"], []),
    ("ul. Długa 12, 00-238 Warszawa", ["Długa", "00-238", "Warszawa"], []),
    ("21, rue maggie pelletier is where I live", ["maggie", "pelletier", "21"], ["where I"]),
    ("Viale Martino, 430 Piano 5", ["Martino", "430"], []),
    ("Calle Mayor, 7, Madrid", ["Mayor", "7,"], []),
    ("Ship to PSC 2210, Box 4471, APO AE 09012", ["2210", "4471", "09012"], []),
    ("Unit 8400 Box 1234, DPO AP 96501", ["8400", "1234", "96501"], []),
    ("USNS Guzman, FPO AE 09044", ["Guzman", "09044"], []),
    ("the corner of Maple str and Dunmore Lane", ["Maple", "Dunmore"], []),
    ("we met at the corner of chemin Aurore Maillet and avenue Allard.", ["Maillet", "Allard"], []),
    ("Return address\nAntonsenspranget 53\n3905 Magnusvåg", ["Antonsenspranget", "3905"], []),
    ("Studio 15N, Jeffrey Vista", ["Jeffrey", "15N"], []),
]


@pytest.mark.parametrize(("text", "gone", "kept"), ADDRESSES)
def test_addresses_of_many_countries(text: str, gone: list[str], kept: list[str]) -> None:
    out = scrub_phi(text).text
    assert [v for v in gone if v in out] == [], out
    assert [v for v in kept if v not in out] == [], out


# (text, names that must be gone)
NAMES = [
    ("our founders: Szabó, Keller and Ortega", ["Szabó", "Keller", "Ortega"]),
    ("Invited: Halvorsen, Haugland og Bakken", ["Halvorsen", "Haugland", "Bakken"]),
    ("Ilona: What a day.", ["Ilona"]),
    ("Eric: did you log your glucose?\nNicholas: yes, 140 mg/dl.", ["Eric", "Nicholas"]),
    ("we went to a Dmitri K Volkov concert", ["Dmitri", "Volkov", " K "]),
    ("seen with Felix J. Rouwhorst today", ["Felix", "Rouwhorst", "J."]),
    ("Dr. Tóth and Bence B Kovács came", ["Tóth", "Kovács", " B "]),
    ("Referred by H. Kovács", ["H.", "Kovács"]),
    ("she asked whether Leszek could drive her home", ["Leszek"]),
    ("Rachel Bush called. Later Rachel said she was fine.", ["Rachel", "Bush"]),
]


@pytest.mark.parametrize(("text", "gone"), NAMES)
def test_names_in_every_position(text: str, gone: list[str]) -> None:
    out = scrub_phi(text).text
    assert [v for v in gone if v in out] == [], out


UNCHANGED = [
    "my cgm avg was 163 mg/dl and 62% in range, is that bad?",
    "Resting heart rate this morning: 92 bpm.",
    "I went to bed at 23:15 and woke up at 06:45.",
    "Walked 4,200 steps today.",
    "Sleep efficiency 78% per my tracker",
    "HRV (RMSSD) averaged 17 ms",
    "Zone 2: 35 min",
    "REM 21%",
    "Deep sleep",
    "CGM",
    "GMI 6.8%",
    "Office BP 142/91 mmHg today",
    "Office hours 0800-1700",
    "Desk job: 8 hours, 1200-1400 kcal",
    "Desk height 72 cm",
    "Home readings 118/76, 121/79 and 115/74",
    "Work shift 2024-2025 was rough",
    "My phone says 10,432 steps and 1,845 kcal",
    "I walked 12,000,000 steps in total since 2019",
    "Call me if my A1c is over 7.5",
    "Zip 2: 35 min",
    "April: 35 min of cardio",
    "Note: glucose 140",
    "Metformin, Lisinopril and Ozempic daily",
    "In the corner of my eye",
    "office 5 days, home 2 days",
    "reach 10000 steps",
    "Mobile app shows 7 h 32 min asleep",
    "see e.g. the data.csv and report.pdf files",
    "I park 2 blocks away and walk 3 miles",
    "The Whipple procedure and Crohn's disease",
]


@pytest.mark.parametrize("text", UNCHANGED)
def test_clinical_and_question_text_comes_back_unchanged(text: str) -> None:
    assert scrub_phi(text).text == text
