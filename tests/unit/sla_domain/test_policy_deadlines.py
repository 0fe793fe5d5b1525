"""Due instants of every shipped policy, derived by hand (arithmetic in the comments).

Calendar facts used (from the `holidays` package, checked against the published lists):
England 2026: Good Friday 3 Apr, Easter Monday 6 Apr, Christmas Fri 25 Dec, Boxing Day
(observed) Mon 28 Dec; 2027: New Year Fri 1 Jan, Good Friday 26 Mar, Easter Monday 29 Mar.
Scotland: no Easter Monday; 2 January is a holiday (2027: observed Mon 4 Jan).
US: Independence Day observed Fri 3 Jul 2026. NSW: Labour Day Mon 5 Oct 2026 (not in VIC).
DST: UK 2026-10-25 (back) and 2027-03-28 (forward); US 2026-11-01 (back); AU 2026-10-04
(forward). Working hours everywhere: Mon-Fri 09:00-17:00 local.
"""

from __future__ import annotations

import datetime as dt

import pytest

from .support import MELBOURNE, complaint, due_times, london, new_york, sydney

FRIDAY_BEFORE_CHRISTMAS = london(2026, 12, 18, 16, 58)  # GMT

# (case, received_at, facts overrides, clock id, expected due)
CASES: list[tuple[str, dt.datetime, dict[str, str], str, dt.datetime]] = [
    # --- Friday 16:58 before Christmas, England -------------------------------------------
    # 18 Dec + 56 days: 13 days to 31 Dec, 31 in January (44), 12 in February (56).
    (
        "xmas fca 8 weeks",
        FRIDAY_BEFORE_CHRISTMAS,
        {},
        "fca-final-8wk",
        london(2027, 2, 12, 16, 58),
    ),
    # Business days after Fri 18: Mon 21 (1), Tue 22 (2), Wed 23 (3); close of business.
    ("xmas disp 1.5", FRIDAY_BEFORE_CHRISTMAS, {}, "fca-src-window", london(2026, 12, 23, 17, 0)),
    ("xmas fca ack", FRIDAY_BEFORE_CHRISTMAS, {}, "fca-ack", london(2026, 12, 21, 17, 0)),
    # Acknowledgement is immediate, whatever the hour: 16:58 + 15 minutes.
    ("xmas internal ack", FRIDAY_BEFORE_CHRISTMAS, {}, "int-ack", london(2026, 12, 18, 17, 13)),
    # 8 working hours: Fri 16:58-17:00 (2 min), Mon 21 09:00 + 7h58 = 16:58.
    (
        "xmas first response",
        FRIDAY_BEFORE_CHRISTMAS,
        {},
        "int-first-medium",
        london(2026, 12, 21, 16, 58),
    ),
    # 10 business days: 21,22,23,24 (4); 25 and 28 closed; 29,30,31 (7); 1 Jan closed;
    # 4,5,6 Jan (10).
    (
        "xmas resolution eng",
        FRIDAY_BEFORE_CHRISTMAS,
        {},
        "int-resolution-medium",
        london(2027, 1, 6, 17, 0),
    ),
    # Scotland: as England, but Mon 4 Jan 2027 (2 January observed) is closed too:
    # 21-24 (4); 29,30,31 (7); 5,6,7 Jan (10).
    (
        "xmas resolution sct",
        FRIDAY_BEFORE_CHRISTMAS,
        {"jurisdiction": "GB-SCT"},
        "int-resolution-medium",
        london(2027, 1, 7, 17, 0),
    ),
    # A letter is acknowledged by close of the next business day, Mon 21.
    (
        "xmas letter ack",
        FRIDAY_BEFORE_CHRISTMAS,
        {"channel": "letter"},
        "int-ack-letter",
        london(2026, 12, 21, 17, 0),
    ),
    # PSD2 15 business days: 21-24 (4); 29-31 (7); 4-8 Jan (12); 11,12,13 Jan (15).
    (
        "xmas psd2 15bd",
        FRIDAY_BEFORE_CHRISTMAS,
        {"regime": "uk-psd2-emoney"},
        "psd2-15bd",
        london(2027, 1, 13, 17, 0),
    ),
    # 35: 14,15 (17); 18-22 (22); 25-29 (27); 1-5 Feb (32); 8,9,10 Feb (35).
    (
        "xmas psd2 35bd",
        FRIDAY_BEFORE_CHRISTMAS,
        {"regime": "uk-psd2-emoney"},
        "psd2-35bd",
        london(2027, 2, 10, 17, 0),
    ),
    # Scotland: 4 Jan closed, so 15 business days end one day later, Thu 14 Jan.
    (
        "xmas psd2 15bd sct",
        FRIDAY_BEFORE_CHRISTMAS,
        {"regime": "uk-psd2-emoney", "jurisdiction": "GB-SCT"},
        "psd2-15bd",
        london(2027, 1, 14, 17, 0),
    ),
    # --- Easter: England vs Scotland (Easter Monday is not a Scottish bank holiday) --------
    # Thu 2 Apr 2026 10:00 BST. England: Fri 3 and Mon 6 closed; Tue 7 (1), Wed 8 (2), Thu 9 (3).
    (
        "easter disp 1.5 eng",
        london(2026, 4, 2, 10, 0),
        {},
        "fca-src-window",
        london(2026, 4, 9, 17, 0),
    ),
    # Scotland: Fri 3 closed; Mon 6 (1), Tue 7 (2), Wed 8 (3).
    (
        "easter disp 1.5 sct",
        london(2026, 4, 2, 10, 0),
        {"jurisdiction": "GB-SCT"},
        "fca-src-window",
        london(2026, 4, 8, 17, 0),
    ),
    # Northern Ireland keeps Easter Monday, like England.
    (
        "easter disp 1.5 nir",
        london(2026, 4, 2, 10, 0),
        {"jurisdiction": "GB-NIR"},
        "fca-src-window",
        london(2026, 4, 9, 17, 0),
    ),
    ("easter fca ack eng", london(2026, 4, 2, 10, 0), {}, "fca-ack", london(2026, 4, 7, 17, 0)),
    (
        "easter fca ack sct",
        london(2026, 4, 2, 10, 0),
        {"jurisdiction": "GB-SCT"},
        "fca-ack",
        london(2026, 4, 6, 17, 0),
    ),
    # High severity, 5 business days: Tue 7, Wed 8, Thu 9, Fri 10, Mon 13.
    (
        "easter resolution high",
        london(2026, 4, 2, 10, 0),
        {"severity": "high"},
        "int-resolution-high",
        london(2026, 4, 13, 17, 0),
    ),
    # --- received on a public holiday -----------------------------------------------------
    # Christmas Day 11:00. Sat 26, Sun 27, Mon 28 (observed) closed: Tue 29 (1), Wed 30 (2),
    # Thu 31 (3).
    (
        "christmas day disp 1.5",
        london(2026, 12, 25, 11, 0),
        {},
        "fca-src-window",
        london(2026, 12, 31, 17, 0),
    ),
    # 8 working hours: none until Tue 29 09:00, all eight that day: 17:00.
    (
        "christmas day first response",
        london(2026, 12, 25, 11, 0),
        {},
        "int-first-medium",
        london(2026, 12, 29, 17, 0),
    ),
    # 25 Dec + 56: 6 days to 31 Dec, 31 in January (37), 19 in February (56).
    (
        "christmas day 8 weeks",
        london(2026, 12, 25, 11, 0),
        {},
        "fca-final-8wk",
        london(2027, 2, 19, 11, 0),
    ),
    # US, Independence Day observed (Fri 3 Jul 2026) 10:00 EDT, high: Mon 6 Jul 09:00 + 4h.
    (
        "us holiday first response",
        new_york(2026, 7, 3, 10, 0),
        {"regime": "us-cfpb", "jurisdiction": "US", "severity": "high"},
        "int-first-high",
        new_york(2026, 7, 6, 13, 0),
    ),
    # CFPB 15 calendar days after 3 Jul is 18 Jul; due at its end, midnight starting 19 Jul.
    (
        "us holiday cfpb 15d",
        new_york(2026, 7, 3, 10, 0),
        {"regime": "us-cfpb", "jurisdiction": "US"},
        "cfpb-15d",
        new_york(2026, 7, 19, 0, 0),
    ),
    # 60 days: 28 to 31 Jul, 31 in August (59), 1 Sep (60); end of that day.
    (
        "us holiday cfpb 60d",
        new_york(2026, 7, 3, 10, 0),
        {"regime": "us-cfpb", "jurisdiction": "US"},
        "cfpb-60d",
        new_york(2026, 9, 2, 0, 0),
    ),
    # --- the eight-week clock across New Year ---------------------------------------------
    # 16 Nov + 56: 14 to 30 Nov, 31 in December (45), 11 in January (56).
    (
        "8 weeks over new year",
        london(2026, 11, 16, 9, 30),
        {},
        "fca-final-8wk",
        london(2027, 1, 11, 9, 30),
    ),
    # 6 Nov + 56: 24 to 30 Nov, 31 in December (55), 1 Jan (56): New Year's Day, no roll.
    (
        "8 weeks onto new year's day",
        london(2026, 11, 6, 10, 0),
        {},
        "fca-final-8wk",
        london(2027, 1, 1, 10, 0),
    ),
    # --- DST ------------------------------------------------------------------------------
    # Thu 25 Mar 2027 15:00 GMT, 8 working hours. England: 15-17 (2h); Fri 26 and Mon 29
    # closed; clocks go forward Sun 28; Tue 30 09:00 BST + 6h = 15:00 BST.
    (
        "spring dst first response eng",
        london(2027, 3, 25, 15, 0),
        {},
        "int-first-medium",
        london(2027, 3, 30, 15, 0),
    ),
    # Scotland works on Easter Monday: Mon 29 09:00 BST + 6h.
    (
        "spring dst first response sct",
        london(2027, 3, 25, 15, 0),
        {"jurisdiction": "GB-SCT"},
        "int-first-medium",
        london(2027, 3, 29, 15, 0),
    ),
    # Fri 23 Oct 2026 14:00 BST: 14-17 (3h); clocks go back Sun 25; Mon 26 09:00 GMT + 5h.
    (
        "autumn dst first response",
        london(2026, 10, 23, 14, 0),
        {},
        "int-first-medium",
        london(2026, 10, 26, 14, 0),
    ),
    # Fri 30 Oct 2026 15:00 EDT, high (4h): 15-17 (2h); US clocks go back Sun 1 Nov;
    # Mon 2 Nov 09:00 EST + 2h.
    (
        "us dst first response",
        new_york(2026, 10, 30, 15, 0),
        {"regime": "us-cfpb", "jurisdiction": "US", "severity": "high"},
        "int-first-high",
        new_york(2026, 11, 2, 11, 0),
    ),
    # 1 Sep 2026 10:00 BST + 56 days: 29 to 30 Sep, 27 in October: 27 Oct, same wall time
    # 10:00, now GMT (56 days and one hour of elapsed time).
    (
        "8 weeks across dst",
        london(2026, 9, 1, 10, 0),
        {},
        "fca-final-8wk",
        london(2026, 10, 27, 10, 0),
    ),
    # 20 Oct 2026 + 15 days = 4 Nov; end of day is midnight EST starting 5 Nov.
    (
        "cfpb across dst",
        new_york(2026, 10, 20, 9, 0),
        {"regime": "us-cfpb", "jurisdiction": "US"},
        "cfpb-15d",
        new_york(2026, 11, 5, 0, 0),
    ),
    # Sun 28 Mar 2027 00:50 GMT + 15 elapsed minutes = 01:05 GMT, which reads 02:05 BST.
    (
        "ack across the spring gap",
        london(2027, 3, 28, 0, 50),
        {},
        "int-ack",
        london(2027, 3, 28, 2, 5),
    ),
    # --- Australia (ASIC RG 271) ----------------------------------------------------------
    # Mon 1 Jun 2026 20:00 AEST: 24h -> Tue 20:00; next business day close -> Tue 17:00;
    # the later of the two.
    (
        "asic ack evening",
        sydney(2026, 6, 1, 20, 0),
        {"regime": "au-asic-rg271", "jurisdiction": "AU-NSW"},
        "asic-ack",
        sydney(2026, 6, 2, 20, 0),
    ),
    # 1 Jun + 30 = 1 Jul, end of day.
    (
        "asic 30 days",
        sydney(2026, 6, 1, 20, 0),
        {"regime": "au-asic-rg271", "jurisdiction": "AU-NSW"},
        "asic-final-30d",
        sydney(2026, 7, 2, 0, 0),
    ),
    # Hardship: 1 Jun + 21 = 22 Jun, end of day.
    (
        "asic hardship 21 days",
        sydney(2026, 6, 1, 20, 0),
        {"regime": "au-asic-rg271", "jurisdiction": "AU-NSW", "category": "hardship"},
        "asic-final-21d",
        sydney(2026, 6, 23, 0, 0),
    ),
    (
        "asic default notice 21 days",
        sydney(2026, 6, 1, 20, 0),
        {"regime": "au-asic-rg271", "jurisdiction": "AU-NSW", "category": "Default-Notice"},
        "asic-final-21d",
        sydney(2026, 6, 23, 0, 0),
    ),
    # Superannuation: 29 to 30 Jun, 16 in July: 16 Jul (45), end of day.
    (
        "asic superannuation 45 days",
        sydney(2026, 6, 1, 20, 0),
        {"regime": "au-asic-rg271", "jurisdiction": "AU-NSW", "category": "superannuation"},
        "asic-final-45d",
        sydney(2026, 7, 17, 0, 0),
    ),
    # Traditional trustee company services: 45 days as well (policy version 2; version 1
    # gave them the general 30).
    (
        "asic traditional trustee services 45 days",
        sydney(2026, 6, 1, 20, 0),
        {
            "regime": "au-asic-rg271",
            "jurisdiction": "AU-NSW",
            "category": "Traditional trustee services",
        },
        "asic-final-45d",
        sydney(2026, 7, 17, 0, 0),
    ),
    # Sat 3 Oct 2026 21:00 AEST, clocks go forward Sun 4 Oct. 24h -> Sun 22:00 AEDT.
    # NSW: Mon 5 Oct is Labour Day, so the next business day is Tue 6: 17:00 AEDT wins.
    (
        "asic ack weekend nsw",
        sydney(2026, 10, 3, 21, 0),
        {"regime": "au-asic-rg271", "jurisdiction": "AU-NSW"},
        "asic-ack",
        sydney(2026, 10, 6, 17, 0),
    ),
    # Victoria has no holiday on 5 Oct: Mon 5 Oct 17:00 AEDT.
    (
        "asic ack weekend vic",
        dt.datetime(2026, 10, 3, 21, 0, tzinfo=MELBOURNE),
        {"regime": "au-asic-rg271", "jurisdiction": "AU-VIC"},
        "asic-ack",
        dt.datetime(2026, 10, 5, 17, 0, tzinfo=MELBOURNE),
    ),
    # --- US CFPB ---------------------------------------------------------------------------
    # Fri 20 Nov 2026 14:00 EST: +15 = 5 Dec, end of day.
    (
        "cfpb 15 days",
        new_york(2026, 11, 20, 14, 0),
        {"regime": "us-cfpb", "jurisdiction": "US"},
        "cfpb-15d",
        new_york(2026, 12, 6, 0, 0),
    ),
    # +60: 10 to 30 Nov, 31 in December (41), 19 in January (60), end of day.
    (
        "cfpb 60 days",
        new_york(2026, 11, 20, 14, 0),
        {"regime": "us-cfpb", "jurisdiction": "US"},
        "cfpb-60d",
        new_york(2027, 1, 20, 0, 0),
    ),
]


@pytest.mark.parametrize(
    ("received_at", "overrides", "clock_id", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_due_instant_matches_hand_derivation(
    received_at: dt.datetime, overrides: dict[str, str], clock_id: str, expected: dt.datetime
) -> None:
    dues = due_times(complaint(received_at, **overrides))

    assert dues[clock_id] == expected
    assert dues[clock_id].utcoffset() == dt.timedelta(0)  # events carry UTC instants


@pytest.mark.parametrize(
    ("overrides", "expected_clocks"),
    [
        (
            {},
            {
                "fca-ack",
                "fca-final-8wk",
                "fca-src-window",
                "int-ack",
                "int-first-medium",
                "int-progress-medium",
                "int-resolution-medium",
            },
        ),
        (
            {"regime": "uk-psd2-emoney", "severity": "critical", "channel": "letter"},
            {
                "psd2-ack",
                "psd2-15bd",
                "psd2-35bd",
                "int-ack-letter",
                "int-first-critical",
                "int-progress-critical",
                "int-resolution-critical",
            },
        ),
        (
            {"regime": "us-cfpb", "jurisdiction": "US", "severity": "low"},
            {
                "cfpb-15d",
                "cfpb-60d",
                "int-ack",
                "int-first-low",
                "int-progress-low",
                "int-resolution-low",
            },
        ),
        (
            {"regime": "au-asic-rg271", "jurisdiction": "AU-VIC", "category": "superannuation"},
            {
                "asic-ack",
                "asic-final-45d",
                "int-ack",
                "int-first-medium",
                "int-progress-medium",
                "int-resolution-medium",
            },
        ),
        (
            {"regime": "none", "severity": "high", "channel": "social_public"},
            {"int-ack", "int-first-high", "int-progress-high", "int-resolution-high"},
        ),
    ],
    ids=["fca", "psd2 letter critical", "cfpb low", "asic superannuation", "internal only"],
)
def test_complaint_gets_every_clock_its_facts_call_for(
    overrides: dict[str, str], expected_clocks: set[str]
) -> None:
    assert set(due_times(complaint(FRIDAY_BEFORE_CHRISTMAS, **overrides))) == expected_clocks
