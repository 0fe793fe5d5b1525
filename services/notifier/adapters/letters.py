"""Letters onto a print-queue topic: the print service prints and posts them.

One JSON record per letter, keyed by complaint id, with the notification id as the
record's idempotency key (the print service drops a repeat). Written with
``send_and_wait``: a letter counts as sent only when the broker has it.
"""

from __future__ import annotations

import json

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from services.notifier.domain.messages import ComposedMessage
from services.notifier.domain.retry import transient


class PrintQueueSender:
    channel = "letter"

    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self._producer = producer
        self._topic = topic

    def destination(self, recipient: str) -> str:
        return f"print:{self._topic}"

    def provider_message_id(self, notification_id: str) -> str:
        return f"letter:{notification_id}"

    async def send(
        self, *, recipient: str, message: ComposedMessage, notification_id: str, complaint_id: str
    ) -> str:
        letter = {
            "notification_id": notification_id,
            "complaint_id": complaint_id,
            "addressee": recipient,
            "subject": message.subject,
            "body": message.body,
            "signed_by": message.signed_by,
        }
        try:
            await self._producer.send_and_wait(
                self._topic,
                json.dumps(letter, ensure_ascii=False).encode(),
                key=complaint_id.encode(),
                headers=[("idempotency-key", notification_id.encode())],
            )
        except KafkaError as error:
            raise transient(f"print queue: {error}") from error
        return self.provider_message_id(notification_id)
