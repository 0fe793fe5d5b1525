"""What each regulator requires us to tell the customer, in plain words.

The timescales match the sla policies (services/sla/policies); the rights are the ones a
message must state: the Financial Ombudsman and its six-month window (FCA DISP 1.6.2R,
1.5.5R), the 35-business-day final date of a PSD2 holding reply (DISP 1.6.2AR), AFCA for
an Australian IDR response or delay notification (ASIC RG 271), and the CFPB portal's
"in progress" answer. Templates render these strings; they never invent their own.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RegimeWording:
    # DISP 1.6.1R (2026): the acknowledgement states the timescales that apply.
    timescales: str
    # What a delay notice (or holding response) must add about the customer's rights.
    delay_rights: str
    # What a final response must say about taking the complaint further.
    referral_rights: str
    # The clock kind whose delay notice is this regime's holding response (FCA: the
    # 8-week final response; PSD2 and CFPB: their first, holding-reply deadline). A delay
    # notice on any other clock is just that: the customer told before a date slips.
    holding_clock_kind: str | None = None
    # The rights in a line, for SMS and chat, where the full text will not fit.
    rights_short: str = ""


FOS = (
    "If you are unhappy with how we are handling your complaint, you can refer it to the "
    "Financial Ombudsman Service, free of charge: www.financial-ombudsman.org.uk, "
    "0800 023 4567."
)
FOS_FINAL = (
    "If you are not happy with this response, you can refer your complaint to the "
    "Financial Ombudsman Service, free of charge, within six months of the date of this "
    "response: www.financial-ombudsman.org.uk, 0800 023 4567. If you do not refer it in "
    "time, the Ombudsman will not normally be able to consider it."
)
AFCA = (
    "You can take your complaint to the Australian Financial Complaints Authority (AFCA), "
    "a free and independent service: www.afca.org.au, 1800 931 678, info@afca.org.au."
)
CFPB = (
    "We have told the Consumer Financial Protection Bureau that your complaint is in "
    "progress. You can follow it at www.consumerfinance.gov/complaint."
)

WORDING: dict[tuple[str, str], RegimeWording] = {
    ("uk-fca-disp", ""): RegimeWording(
        timescales=(
            "We will send you our final response within 8 weeks of the day you told us. "
            "If we cannot, we will write before then to explain why and say when you will "
            "have it."
        ),
        delay_rights=FOS + " You can do this now, as eight weeks have almost passed.",
        referral_rights=FOS_FINAL,
        holding_clock_kind="final_response",
        rights_short="You can refer your complaint to the Financial Ombudsman: "
        "financial-ombudsman.org.uk, 0800 023 4567.",
    ),
    ("uk-psd2-emoney", ""): RegimeWording(
        timescales=(
            "We will send you our final response within 15 business days. If, exceptionally, "
            "that is not possible, we will explain why by then and send it no later than 35 "
            "business days after we received your complaint."
        ),
        delay_rights=(
            "You will have our final response no later than 35 business days after we "
            "received your complaint. " + FOS
        ),
        referral_rights=FOS_FINAL,
        holding_clock_kind="holding_response",
        rights_short="Our final response will reach you within 35 business days of your "
        "complaint. Financial Ombudsman: financial-ombudsman.org.uk.",
    ),
    ("us-cfpb", ""): RegimeWording(
        timescales=(
            "We will respond within 15 days. If your complaint needs more time, we will "
            "tell you it is in progress and send our final response within 60 days."
        ),
        delay_rights=CFPB,
        referral_rights=(
            "You can tell the Consumer Financial Protection Bureau whether you are satisfied "
            "with this response at www.consumerfinance.gov/complaint."
        ),
        holding_clock_kind="holding_response",
        rights_short="We have told the CFPB your complaint is in progress.",
    ),
    ("au-asic-rg271", ""): RegimeWording(
        timescales="We will give you our response within 30 days.",
        delay_rights=AFCA,
        referral_rights=(
            "If you are not satisfied with our response, " + AFCA[0].lower() + AFCA[1:]
        ),
        rights_short="You can take your complaint to AFCA: afca.org.au, 1800 931 678.",
    ),
}
# ASIC RG 271 shortens or lengthens the IDR timeframe for some kinds of complaint.
for _category, _days in (("hardship", 21), ("default_notice", 21), ("superannuation", 45)):
    WORDING[("au-asic-rg271", _category)] = RegimeWording(
        timescales=f"We will give you our response within {_days} days.",
        delay_rights=WORDING[("au-asic-rg271", "")].delay_rights,
        referral_rights=WORDING[("au-asic-rg271", "")].referral_rights,
        rights_short=WORDING[("au-asic-rg271", "")].rights_short,
    )

NO_REGIME = RegimeWording(
    timescales=(
        "I will give you my full response as quickly as I can, and keep you updated along the way."
    ),
    delay_rights="",
    referral_rights="",
)


def wording(regime: str, category: str) -> RegimeWording:
    return WORDING.get((regime, category)) or WORDING.get((regime, ""), NO_REGIME)
