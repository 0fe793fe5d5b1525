"""Wires the intake service: gRPC API and the raw-topic consumer over one use case."""

from __future__ import annotations

import asyncio
import functools
from datetime import timedelta

from kintsugi.common.config_files import ConfigFileError
from kintsugi.common.jurisdictions import CalendarsFileError, calendar_ids
from kintsugi.common.logs import get_logger
from kintsugi.common.runtime import Edges, exit_on_bad_configuration, run_consumer, run_service
from kintsugi.common.timeutil import system_clock
from kintsugi.common.topics import INTAKE_SUBMISSIONS, RAW_ACTIVITIES, RAW_COMPLAINTS
from services.intake.adapters.admission import Admission
from services.intake.adapters.auth import Guard, TokenFile
from services.intake.adapters.grpc_api import GrpcServer
from services.intake.adapters.ledger_kafka import KafkaLedger
from services.intake.adapters.raw_topic import (
    RawActivityHandler,
    RawComplaintHandler,
    decode_activity,
    decode_request,
)
from services.intake.config import IntakeSettings
from services.intake.domain.classification_rules import (
    ClassificationRules,
    default_rules,
    load_rules,
)
from services.intake.domain.credentials import TokenFileError
from services.intake.domain.rules import InputRules
from services.intake.service import Intake, IntakeOptions

log = get_logger("intake")


async def serve(edges: Edges, stop: asyncio.Event, *, settings: IntakeSettings) -> None:
    kafka = settings.kafka
    ledger = KafkaLedger(edges.producer, kafka, kafka.topic(INTAKE_SUBMISSIONS))
    edges.health.add_check("ledger", lambda: ledger.healthy)
    # Nothing is answered before the ledger is read: an answer needs every earlier claim.
    await ledger.start()
    try:
        intake = Intake(
            edges.events,
            ledger,
            system_clock,
            input_rules(settings),
            IntakeOptions(
                claim_wait_s=settings.claim_wait_s, classification=classification_rules(settings)
            ),
        )
        await _serve(edges, stop, settings, intake)
    finally:
        await ledger.stop()


async def _serve(
    edges: Edges, stop: asyncio.Event, settings: IntakeSettings, intake: Intake
) -> None:
    grpc_server = GrpcServer(
        intake,
        settings.grpc_host,
        settings.grpc_port,
        guard=Guard(token_file(settings)),
        admission=Admission(
            settings.max_in_flight,
            settings.request_timeout_s,
            max_in_flight_per_source=settings.max_in_flight_per_source,
        ),
        retry_after_s=settings.retry_after_s,
    )
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
            complaints = edges.consumer(
                [RAW_COMPLAINTS],
                RawComplaintHandler(intake),
                decode=decode_request,
                key_log_field="source_reference",
            )
            activities = edges.consumer(
                [RAW_ACTIVITIES],
                RawActivityHandler(intake),
                decode=decode_activity,
                key_log_field="source_reference",
                group_suffix="-activities",
            )
            async with asyncio.TaskGroup() as consumers:
                for loop in (complaints, activities):
                    consumers.create_task(run_consumer(loop, stop, settings.shutdown_grace_s))
        else:
            await stop.wait()
    finally:
        stop.set()
        await draining


def input_rules(settings: IntakeSettings) -> InputRules:
    try:
        jurisdictions = calendar_ids(settings.calendars_file)
    except CalendarsFileError as error:
        exit_on_bad_configuration("intake", error)
    return InputRules(jurisdictions, timedelta(days=settings.max_received_age_days))


def classification_rules(settings: IntakeSettings) -> ClassificationRules:
    if settings.classification_rules_file is None:
        return default_rules()
    try:
        return load_rules(settings.classification_rules_file)
    except ConfigFileError as error:
        exit_on_bad_configuration("intake", error)


def token_file(settings: IntakeSettings) -> TokenFile | None:
    if settings.tokens_file is None:
        return None
    try:
        return TokenFile(settings.tokens_file)
    except (OSError, TokenFileError) as error:
        exit_on_bad_configuration("intake", error)


def main() -> None:
    settings = IntakeSettings()
    # A bad calendars, tokens or classification rules file stops the service before it
    # connects ("file:line: path: message"), instead of failing on a complaint.
    input_rules(settings)
    token_file(settings)
    classification_rules(settings)
    run_service("intake", settings, functools.partial(serve, settings=settings))


if __name__ == "__main__":
    main()
