"""Wires the intake service: gRPC API and the raw-topic consumer over one use case."""

from __future__ import annotations

import asyncio
import functools

from kintsugi.common.logs import get_logger
from kintsugi.common.runtime import Edges, run_consumer, run_service
from kintsugi.common.timeutil import system_clock
from kintsugi.common.topics import RAW_COMPLAINTS
from services.intake.adapters.grpc_api import GrpcServer
from services.intake.adapters.kafka_out import KafkaAcceptedComplaints
from services.intake.adapters.raw_topic import RawComplaintHandler, decode_request
from services.intake.config import IntakeSettings
from services.intake.domain.classification_rules import default_rules
from services.intake.service import Intake

log = get_logger("intake")


async def serve(edges: Edges, stop: asyncio.Event, *, settings: IntakeSettings) -> None:
    intake = Intake(KafkaAcceptedComplaints(edges.events), system_clock)
    grpc_server = GrpcServer(intake, settings.grpc_host, settings.grpc_port)
    edges.health.add_check("grpc", lambda: grpc_server.serving)
    await grpc_server.start()
    log.info("grpc_serving", port=grpc_server.port)

    async def drain_grpc() -> None:
        await stop.wait()
        await grpc_server.stop(settings.shutdown_grace_s)

    # Both drain at once, within one grace period (the pod's termination budget).
    draining = asyncio.create_task(drain_grpc())
    try:
        if settings.consume_raw_topic:
            raw = edges.consumer(
                [RAW_COMPLAINTS],
                RawComplaintHandler(intake),
                decode=decode_request,
                key_log_field="source_reference",
            )
            await run_consumer(raw, stop, settings.shutdown_grace_s)
        else:
            await stop.wait()
    finally:
        stop.set()
        await draining


def main() -> None:
    settings = IntakeSettings()
    # Compile the classification rules before anything connects: a broken rules file
    # stops start-up with "file:line: path: message" instead of failing on a complaint.
    default_rules()
    run_service("intake", settings, functools.partial(serve, settings=settings))


if __name__ == "__main__":
    main()
