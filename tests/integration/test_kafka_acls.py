"""Each service's Kafka user, on a broker that enforces ACLs, may do what its KafkaUser
grants and nothing more: it cannot read or write another service's topics nor join
another's consumer group. The ACLs come from ``tools.render_kafka_users`` - the source
the Strimzi manifests are rendered from - so what is proved here is what is deployed.

A private broker (``secured_kafka``) is started for this module and stopped after it;
skipped when the tests run against a cluster of their own (KAFKA_BOOTSTRAP_SERVERS).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaError,
    TopicAuthorizationFailedError,
)

from kintsugi.common.kafka import make_producer
from kintsugi.common.topics import (
    ALL_TOPICS,
    COMPLAINT_EVENTS,
    INTAKE_SUBMISSIONS,
    NOTIFIER_STATE,
    ROUTER_STATE,
)
from tests.integration.secured_kafka import SecuredBroker
from tools.render_kafka_users import GRANTS, Grant

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("KAFKA_BOOTSTRAP_SERVERS")),
    reason="an external cluster: its ACLs are its operator's (this starts a local broker)",
)

PREFIX = "acl."
USERS = {grant.user: grant for grant in GRANTS}
# Whose state each topic is: nobody else may touch it.
OWNED = {
    "kintsugi-intake": INTAKE_SUBMISSIONS,
    "kintsugi-router": ROUTER_STATE,
    "kintsugi-notifier": NOTIFIER_STATE,
}


@pytest.fixture(scope="module")
async def broker(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SecuredBroker]:
    secured = SecuredBroker(tmp_path_factory.mktemp("secured-kafka"), topic_prefix=PREFIX)
    try:
        await secured.start()
        yield secured
    finally:
        secured.stop()


async def can_write(broker: SecuredBroker, user: str, topic: str) -> bool:
    producer = make_producer(broker.settings(user), f"acl-test-{user}")
    await producer.start()
    try:
        async with asyncio.timeout(30):
            await producer.send_and_wait(topic, b"acl probe", key=b"probe")
        return True
    except TopicAuthorizationFailedError:
        return False
    finally:
        await producer.stop()


async def can_read(broker: SecuredBroker, user: str, topic: str, group: str | None) -> bool:
    """Fetch ``topic`` (partition 0) from the start and commit as ``group``; ``False``
    when any step is refused."""
    consumer = AIOKafkaConsumer(
        **broker.settings(user).client_options(), group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        # A topic the user may not even describe is left out of its metadata (and aiokafka
        # would wait for its leader for ever rather than fail).
        metadata = await consumer._client.fetch_all_metadata()
        if topic not in metadata.topics():
            return False
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.seek(partition, 0)
        async with asyncio.timeout(30):
            await consumer.getmany(partition, timeout_ms=1_000)
            if group is not None:
                await consumer.commit({partition: 0})
        return True
    except (TopicAuthorizationFailedError, GroupAuthorizationFailedError):
        return False
    finally:
        await consumer.stop()


def names(specs: tuple[object, ...]) -> set[str]:
    return {PREFIX + spec.name for spec in specs}  # type: ignore[attr-defined]


@pytest.mark.parametrize("grant", GRANTS, ids=lambda grant: grant.user)
async def test_a_user_writes_exactly_the_topics_it_is_granted(
    broker: SecuredBroker, grant: Grant
) -> None:
    allowed = names(grant.writes)
    for spec in ALL_TOPICS:
        topic = PREFIX + spec.name
        assert await can_write(broker, grant.user, topic) == (topic in allowed), topic


@pytest.mark.parametrize("grant", GRANTS, ids=lambda grant: grant.user)
async def test_a_user_reads_exactly_the_topics_it_is_granted_in_its_own_group(
    broker: SecuredBroker, grant: Grant
) -> None:
    allowed = names(grant.reads)
    for spec in ALL_TOPICS:
        topic = PREFIX + spec.name
        # State topics are restored without a group; consumers commit in the service's.
        assert await can_read(broker, grant.user, topic, grant.group) == (topic in allowed), topic


async def test_no_service_can_use_another_services_consumer_group(broker: SecuredBroker) -> None:
    events = PREFIX + COMPLAINT_EVENTS.name
    for user in ("kintsugi-router", "kintsugi-sla", "kintsugi-notifier"):
        own = USERS[user].group
        for other in ("kintsugi-router", "kintsugi-sla", "kintsugi-notifier"):
            if other != user:
                assert not await can_read(broker, user, events, USERS[other].group), (user, other)
        assert await can_read(broker, user, events, own)


async def test_no_service_touches_another_services_state(broker: SecuredBroker) -> None:
    for owner, spec in OWNED.items():
        topic = PREFIX + spec.name
        for user in USERS:
            if user != owner:
                assert not await can_write(broker, user, topic), (user, topic)
                assert not await can_read(broker, user, topic, None), (user, topic)


async def test_without_the_right_password_nothing_at_all(broker: SecuredBroker) -> None:
    impostor = dataclasses.replace(broker, passwords={"kintsugi-router": uuid.uuid4().hex})
    with pytest.raises((KafkaError, TimeoutError)):
        async with asyncio.timeout(30):
            await can_write(impostor, "kintsugi-router", PREFIX + COMPLAINT_EVENTS.name)
