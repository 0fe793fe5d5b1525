"""Sample complaints for ``make up``: different channels, products, regimes and needs."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from kintsugi.events.v1 import complaint_pb2 as pb
from kintsugi.intake.v1 import intake_pb2


def sample_requests(run_id: str, received_at: datetime) -> list[intake_pb2.SubmitComplaintRequest]:
    stamp = Timestamp()
    stamp.FromDatetime(received_at)

    def request(
        ref: str,
        name: str,
        email: str,
        jurisdiction: str,
        product: str,
        subject: str,
        text: str,
        language: str = "en-GB",
        vulnerable: bool = False,
    ) -> intake_pb2.SubmitComplaintRequest:
        return intake_pb2.SubmitComplaintRequest(
            source_system="make-up-demo",
            source_reference=f"{run_id}-{ref}",
            customer=pb.Customer(
                customer_id=f"cust-{ref}",
                display_name=name,
                email=email,
                preferred_language=language,
                declared_vulnerable=vulnerable,
            ),
            channel=pb.CHANNEL_EMAIL,
            subject=subject,
            description=text,
            product=product,
            jurisdiction=jurisdiction,
            received_at=stamp,
        )

    return [
        request(
            "fees",
            "Margaret Ellis",
            "margaret.ellis@example.com",
            "GB-ENG",
            "mortgage",
            "Charged twice",
            "I was charged an arrangement fee twice on my mortgage.",
        ),
        request(
            "hardship",
            "Callum Reid",
            "callum.reid@example.com",
            "GB-SCT",
            "loan",
            "Struggling with repayments",
            "Since my wife passed away I can't pay the loan and nobody calls me back.",
        ),
        request(
            "fraud",
            "Dana Whitfield",
            "dana.w@example.com",
            "US",
            "card",
            "Unauthorized transactions",
            "There are unauthorized charges on my card.",
            language="en-US",
        ),
        request(
            "super",
            "Liam Nguyen",
            "liam.nguyen@example.com",
            "AU-NSW",
            "superannuation",
            "Super rollover delayed",
            "My superannuation rollover has been delayed for weeks.",
            language="en-AU",
        ),
        request(
            "payments",
            "Sofia Marino",
            "sofia.marino@example.com",
            "GB-ENG",
            "payments",
            "Transfer never arrived",
            "A payment I made last week never arrived. Still waiting.",
            language="it",
        ),
    ]
