"""The four real service processes, a real SMTP server and the session's real topics."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
from tools.devstack.topics import own_topics


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


def stack_config(kafka: KafkaSettings, smtp_port: int, base: Path, **changes: Any) -> StackConfig:
    """A stack on ``kafka``'s topics beside others on this machine; ``changes`` to
    ``StackConfig`` (the sla's policies, further service settings, ...)."""
    base.mkdir(parents=True, exist_ok=True)
    return StackConfig.on_free_ports(
        kafka.bootstrap_servers,
        kafka.topic_prefix,
        smtp_port=smtp_port,
        **{
            "sla_data_dir": base / "sla",
            "sla_stall_after_s": 10,
            "router_directory": write_roomy_directory(base / "directory.yaml"),
            **changes,
        },
    )


@contextlib.asynccontextmanager
async def running_stack(
    config: StackConfig, kafka: KafkaSettings, mailbox: Mailbox, log_dir: Path
) -> AsyncIterator[Stack]:
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
    config = stack_config(kafka_settings, smtp_port, base)
    async with running_stack(config, kafka_settings, box, base / "logs") as stack:
        yield stack


OwnStack = Callable[..., AbstractAsyncContextManager[Stack]]


@pytest.fixture
def own_stack(kafka_bootstrap: str, tmp_path: Path) -> OwnStack:
    """A stack of this test alone - its own topics, so the session's stack never reacts to
    its events - sending mail to ``smtp_port`` (where ``mailbox`` may listen, or not yet),
    with ``changes`` to ``StackConfig``: ``own_stack(port, box, sla_policies_dir=...)``."""

    @contextlib.asynccontextmanager
    async def start(smtp_port: int, mailbox: Mailbox, **changes: Any) -> AsyncIterator[Stack]:
        async with own_topics(kafka_bootstrap, "e2e") as kafka:
            config = stack_config(kafka, smtp_port, tmp_path, **changes)
            async with running_stack(config, kafka, mailbox, tmp_path / "logs") as stack:
                yield stack

    return start


@pytest.fixture
def began() -> float:
    """When the test began (epoch seconds): where it starts reading the shared topics."""
    return time.time()
