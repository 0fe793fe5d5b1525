"""The four real service processes, a real SMTP server and the session's real topics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.intake.v1 import intake_pb2_grpc
from tools.devstack.directory import write_roomy_directory
from tools.devstack.mailbox import Mailbox, start_mailbox
from tools.devstack.processes import (
    ServiceProcess,
    StackConfig,
    free_port,
    start_service,
    start_stack,
)


@dataclass
class Stack:
    config: StackConfig
    kafka: KafkaSettings
    mailbox: Mailbox
    processes: dict[str, ServiceProcess]
    log_dir: Path
    intake: intake_pb2_grpc.IntakeServiceStub

    def restart(self, name: str) -> ServiceProcess:
        process = start_service(name, self.config, self.log_dir)
        process.wait_ready()
        self.processes[name] = process
        return process

    def heal(self) -> list[str]:
        """What Kubernetes does with a failing liveness probe: SIGTERM (SIGKILL after the
        grace period), then a new process."""
        healed = []
        for name, process in list(self.processes.items()):
            if process.process.poll() is None and process.stuck():
                process.stop()
                self.restart(name)
                healed.append(name)
        return healed


@pytest.fixture(scope="session")
def mailbox() -> Iterator[tuple[int, Mailbox]]:
    controller, box = start_mailbox(free_port())
    yield controller.port, box
    controller.stop()


@asynccontextmanager
async def running_stack(
    config: StackConfig, kafka: KafkaSettings, mailbox: Mailbox, log_dir: Path
) -> AsyncIterator[Stack]:
    """The four services on ``config``, with a gRPC channel to intake, until the block ends."""
    processes = await asyncio.to_thread(start_stack, config, log_dir)
    stack = Stack(
        config=config,
        kafka=kafka,
        mailbox=mailbox,
        processes={p.name: p for p in processes},
        log_dir=log_dir,
        intake=None,  # type: ignore[arg-type]  # set once the channel is open
    )
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{config.grpc_port}") as channel:
            stack.intake = intake_pb2_grpc.IntakeServiceStub(channel)
            yield stack
    finally:
        # Tests restart services: stop whichever process holds each name now.
        for process in stack.processes.values():
            await asyncio.to_thread(process.stop)


@pytest.fixture(scope="session")
async def stack(
    kafka_settings: KafkaSettings,
    mailbox: tuple[int, Mailbox],
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Stack]:
    smtp_port, box = mailbox
    base = tmp_path_factory.mktemp("stack")
    directory = write_roomy_directory(base / "directory.yaml")
    config = StackConfig.on_free_ports(
        kafka_settings.bootstrap_servers,
        kafka_settings.topic_prefix,
        smtp_port=smtp_port,
        sla_data_dir=base / "sla",
        sla_stall_after_s=10,
        router_directory=directory,
    )
    async with running_stack(config, kafka_settings, box, base / "logs") as running:
        yield running


@pytest.fixture
def began() -> float:
    """When the test began (epoch seconds): where it starts reading the shared topics."""
    return time.time()
