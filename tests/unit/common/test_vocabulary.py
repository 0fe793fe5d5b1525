"""Every protobuf enum value the services exchange has exactly one plain name, and back."""

from __future__ import annotations

from kintsugi.common import names, vocabulary
from kintsugi.events.v1 import complaint_pb2 as pb
from kintsugi.events.v1 import notification_pb2 as npb


def test_every_channel_enum_value_but_unspecified_has_a_domain_name() -> None:
    specified = {v.number for v in pb.Channel.DESCRIPTOR.values if v.number != 0}
    assert set(vocabulary.CHANNEL_NAMES) == specified
    assert sorted(vocabulary.CHANNEL_NAMES.values()) == sorted(names.CHANNELS)


def test_every_severity_enum_value_but_unspecified_has_a_domain_name_in_rank_order() -> None:
    ordered = [vocabulary.SEVERITY_NAMES[v] for v in sorted(vocabulary.SEVERITY_NAMES)]
    assert ordered == list(names.SEVERITIES)


def test_every_notification_purpose_round_trips() -> None:
    specified = {v.number for v in npb.NotificationPurpose.DESCRIPTOR.values if v.number != 0}
    assert set(vocabulary.PURPOSE_NAMES) == specified
    for value, name in vocabulary.PURPOSE_NAMES.items():
        assert vocabulary.PURPOSE_VALUES[name] == value
