"""Requests to intake as upstream systems might get them wrong: anything the contract can
carry, or a valid request with random fields changed, or broken bytes."""

from __future__ import annotations

from hypothesis import strategies as st

from kintsugi.intake.v1 import intake_pb2
from tests.fuzz.messages import message_of, mutated
from tests.unit.intake.activity_factories import an_activity_request
from tests.unit.intake.factories import a_request

COMPLAINT = intake_pb2.SubmitComplaintRequest
ACTIVITY = intake_pb2.RecordActivityRequest


@st.composite
def complaint_requests(draw: st.DrawFn) -> COMPLAINT:
    random = draw(message_of(COMPLAINT.DESCRIPTOR))
    if draw(st.booleans()):
        return random  # type: ignore[return-value]
    request = a_request()
    request.MergeFrom(random)  # a valid request, some fields changed
    return request


@st.composite
def activity_requests(draw: st.DrawFn) -> ACTIVITY:
    random = draw(message_of(ACTIVITY.DESCRIPTOR))
    if draw(st.booleans()):
        return random  # type: ignore[return-value]
    request = an_activity_request(draw(st.sampled_from(["ACT-1", "ACT-2"])))
    request.MergeFrom(random)
    return request


def bodies(requests: st.SearchStrategy[COMPLAINT | ACTIVITY]) -> st.SearchStrategy[bytes]:
    """Serialised requests, a quarter of them damaged on the way."""
    serialised = requests.map(lambda r: r.SerializeToString())
    return st.one_of(serialised, serialised, serialised, serialised.flatmap(mutated))
