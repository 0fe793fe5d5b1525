"""Every message, in every locale and regime: owned, signed, with the rights it must state."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.notifier.domain.case import Case
from services.notifier.domain.lint import TemplatesInvalid, lint_templates
from services.notifier.domain.messages import (
    LOCALES,
    TEMPLATES,
    MessageComposer,
    format_date,
    locale_for,
)
from services.notifier.domain.planner import Planned
from tests.unit.notifier.fakes import a_case

COMPOSER = MessageComposer("Kintsugi Financial")
WHEN = datetime(2026, 4, 30, 16, 0, tzinfo=UTC).isoformat()
FACTS = {"deadline": WHEN, "next_update_by": WHEN, "resolved_at": WHEN}
PURPOSES = (
    "acknowledgement",
    "progress_update",
    "delay_notice",
    "holding_response",
    "final_response",
)
REGIMES = ("uk-fca-disp", "uk-psd2-emoney", "us-cfpb", "au-asic-rg271", "none")

# What a message for a regime must say (PRODUCT: regulatory clocks).
MUST_SAY: dict[tuple[str, str], tuple[str, ...]] = {
    ("uk-fca-disp", "acknowledgement"): ("8 weeks",),
    ("uk-psd2-emoney", "acknowledgement"): ("15 business days", "35 business days"),
    ("us-cfpb", "acknowledgement"): ("15 days", "60 days"),
    ("au-asic-rg271", "acknowledgement"): ("30 days",),
    ("uk-fca-disp", "holding_response"): ("Financial Ombudsman",),
    ("uk-psd2-emoney", "holding_response"): ("35 business days", "Financial Ombudsman"),
    ("us-cfpb", "holding_response"): ("in progress",),
    ("au-asic-rg271", "delay_notice"): ("AFCA", "1800 931 678"),
    ("uk-fca-disp", "final_response"): ("Financial Ombudsman", "six months"),
    ("uk-psd2-emoney", "final_response"): ("Financial Ombudsman", "six months"),
    ("au-asic-rg271", "final_response"): ("AFCA",),
    ("us-cfpb", "final_response"): ("Consumer Financial Protection Bureau",),
}


def case_for(regime: str, locale: str) -> Case:
    return a_case(regime=regime, language=locale).with_handler("Mei Chen", "Cards")


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("regime", REGIMES)
@pytest.mark.parametrize("purpose", PURPOSES)
def test_every_email_is_signed_personally_and_states_what_the_regime_requires(
    locale: str, regime: str, purpose: str
) -> None:
    message = COMPOSER.compose(case_for(regime, locale), Planned("n", purpose, "c", FACTS), "email")

    assert message.signed_by == "Mei Chen"
    assert message.body.rstrip().endswith("Mei Chen\nKintsugi Financial")
    assert message.body.startswith("Dear Jane Doe,")
    assert "5F0C6A8E2B" in message.subject
    for phrase in MUST_SAY.get((regime, purpose), ()):
        assert phrase in message.body


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("purpose", PURPOSES)
def test_every_sms_fits_three_segments_and_names_the_sender(locale: str, purpose: str) -> None:
    message = COMPOSER.compose(
        case_for("uk-psd2-emoney", locale), Planned("n", purpose, "c", FACTS), "sms"
    )

    assert len(message.body.strip()) <= 459
    assert "Mei Chen" in message.body and "5F0C6A8E2B" in message.body


@pytest.mark.parametrize(
    ("locale", "sign_off", "date"),
    [
        ("en-GB", "Yours sincerely,", "Thursday 30 April 2026"),
        ("en-US", "Sincerely,", "Thursday, April 30, 2026"),
        # 16:00 UTC is already the next morning in Sydney.
        ("en-AU", "Kind regards,", "Friday 1 May 2026"),
    ],
)
def test_each_locale_writes_dates_and_sign_offs_its_own_way(
    locale: str, sign_off: str, date: str
) -> None:
    message = COMPOSER.compose(
        case_for("none", locale), Planned("n", "progress_update", "c", FACTS), "email"
    )

    assert sign_off in message.body
    assert date in message.body
    assert format_date(WHEN, locale) == date


@pytest.mark.parametrize(
    ("language", "regime", "locale"),
    [
        ("en-US", "uk-fca-disp", "en-US"),  # the customer's choice wins
        ("en_au", "none", "en-AU"),
        ("en", "us-cfpb", "en-US"),  # otherwise the regime's country
        ("cy", "uk-fca-disp", "en-GB"),
        ("", "au-asic-rg271", "en-AU"),
        ("fr", "none", "en-GB"),
    ],
)
def test_the_locale_follows_the_customer_then_the_regime(
    language: str, regime: str, locale: str
) -> None:
    assert locale_for(a_case(language=language, regime=regime)) == locale


def test_a_display_name_with_a_line_break_cannot_add_a_header_or_a_line() -> None:
    case = replace(case_for("uk-fca-disp", "en-GB"), customer_name="Jane\r\nBcc: x@evil.test")
    case = replace(case, subject="Fees\r\nX-Injected: 1", handler_name="Mei\nChen")
    message = COMPOSER.compose(case, Planned("n", "acknowledgement", "c", FACTS), "email")

    assert "\r" not in message.body and "\n" not in message.subject
    assert "\nBcc:" not in message.body and "\nX-Injected" not in message.body
    assert message.signed_by == "Mei Chen"


def test_the_shipped_templates_pass_the_lint() -> None:
    lint_templates()


def test_a_template_that_blames_fails_start_up_naming_file_line_and_rule(tmp_path: Path) -> None:
    copy = tmp_path / "templates"
    for source in TEMPLATES.rglob("*.j2"):
        target = copy / source.relative_to(TEMPLATES)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source.read_text())
    bad = copy / "en-US" / "progress_update.long.j2"
    bad.write_text(bad.read_text() + "\nUnfortunately the policy states they are slow.\n")
    (copy / "en-AU" / "delay_notice.short.j2").write_text("x" * 600)
    colleague = copy / "staff" / "staff_escalation.j2"
    colleague.write_text(colleague.read_text().replace("Why:", "Not our fault. Why:"))
    (copy / "staff" / "staff_call_customer.j2").unlink()

    with pytest.raises(TemplatesInvalid) as error:
        lint_templates(copy)

    message = str(error.value)
    lines = len(bad.read_text().splitlines())
    assert f"en-US/progress_update.long.j2:{lines}: blames someone else" in message
    assert "hides behind policy" in message and "form-letter word" in message
    assert "en-AU/delay_notice.short.j2" in message and "limit is 459" in message
    # Messages to colleagues are held to the same language, and must all be there.
    assert "staff/staff_escalation.j2:" in message and "blames: own the problem" in message
    assert "staff/staff_call_customer.j2:0: template missing" in message
