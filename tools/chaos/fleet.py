"""The stack's processes, two of each consumer: killed, restarted as Kubernetes would, and
timed from the kill until the replacement is ready and its consumer groups have caught up.

Kubernetes restarts a container that exits, and one whose liveness probe fails (SIGTERM,
SIGKILL after the grace period); the supervisor here does both, and counts them, because a
service that has to be restarted without being killed is a finding in itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from kintsugi.common.kafka_settings import KafkaSettings
from tools.chaos.quiet import close_quietly
from tools.devstack.processes import ServiceProcess, StackConfig, start_service

READY_TIMEOUT_S = 180.0
CATCH_UP_TIMEOUT_S = 300.0


def consumer_groups(config: StackConfig, service: str) -> list[str]:
    """The groups a service's replicas consume in (see each service's main.py)."""
    group = f"{config.topic_prefix}kintsugi-{service}"
    return {
        "intake": [group, f"{group}-activities"],
        "router": [group, f"{group}-decider"],
        "sla": [f"{config.topic_prefix}kintsugi-sla"],
        "notifier": [group],
    }[service]


@dataclass
class Recovery:
    """One restart: why, and how long until the replacement was ready and caught up."""

    instance: str
    cause: str  # "kill" (ours), "exited" or "liveness" (the service's own doing)
    at_s: float  # since the run began
    ready_s: float | None = None
    caught_up_s: float | None = None
    error: str = ""


class LagProbe:
    """Committed offsets against end offsets, per consumer group, from outside the group."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self._kafka = kafka
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None

    async def lag(self, groups: list[str]) -> int:
        if self._admin is None or self._consumer is None:
            self._admin = AIOKafkaAdminClient(**self._kafka.client_options())
            await self._admin.start()
            self._consumer = AIOKafkaConsumer(
                **self._kafka.client_options(), enable_auto_commit=False, group_id=None
            )
            await self._consumer.start()
        total = 0
        try:
            for group in groups:
                committed = await self._admin.list_consumer_group_offsets(group)
                if not committed:
                    continue
                ends = await self._consumer.end_offsets(list(committed))
                total += sum(max(0, ends[tp] - meta.offset) for tp, meta in committed.items())
        except Exception:
            await self.close()  # the broker restarted or stalled: reconnect next time
            raise
        return total

    async def close(self) -> None:
        admin, consumer, self._admin, self._consumer = self._admin, self._consumer, None, None
        if consumer is not None:
            await close_quietly(consumer.stop())
        if admin is not None:
            await close_quietly(admin.close())


@dataclass
class Fleet:
    config: StackConfig
    kafka: KafkaSettings
    log_dir: Path
    began: float = field(default_factory=time.monotonic)
    processes: dict[str, ServiceProcess] = field(default_factory=dict)
    recoveries: list[Recovery] = field(default_factory=list)
    _service_of: dict[str, str] = field(default_factory=dict)
    _restarting: set[str] = field(default_factory=set)
    _measuring: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def instances(self) -> list[str]:
        return [instance for _, instance in self.config.instances()]

    async def start(self) -> None:
        for service, instance in self.config.instances():
            self._service_of[instance] = service
            self.processes[instance] = start_service(
                service, self.config, self.log_dir, instance=instance
            )
        for process in self.processes.values():
            await asyncio.to_thread(process.wait_ready, READY_TIMEOUT_S)

    async def stop(self) -> None:
        for task in self._measuring:
            task.cancel()
        await asyncio.gather(
            *(asyncio.to_thread(p.stop) for p in self.processes.values()), return_exceptions=True
        )

    async def kill(self, instance: str, restart_after_s: float) -> Recovery:
        """SIGKILL (no chance to finish or commit), then what Kubernetes does: notice, wait
        its back-off, start a new process, route to it once it is ready."""
        recovery = Recovery(instance, "kill", time.monotonic() - self.began)
        self._restarting.add(instance)
        try:
            process = self.processes[instance]
            killed_at = time.monotonic()
            process.process.kill()
            await asyncio.to_thread(process.process.wait, 30)
            await asyncio.sleep(restart_after_s)
            await self._replace(instance, recovery, killed_at)
        finally:
            self._restarting.discard(instance)
        return recovery

    async def supervise(self, stop: asyncio.Event, interval_s: float = 2.0) -> None:
        """Liveness and restart policy for every process we did not just kill ourselves."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)
            for instance, process in list(self.processes.items()):
                if instance in self._restarting:
                    continue
                if process.process.poll() is not None:
                    cause = "exited"
                elif await asyncio.to_thread(process.stuck):
                    cause = "liveness"
                else:
                    continue
                recovery = Recovery(instance, cause, time.monotonic() - self.began)
                self._restarting.add(instance)
                try:
                    failed_at = time.monotonic()
                    await asyncio.to_thread(process.stop)
                    await self._replace(instance, recovery, failed_at)
                finally:
                    self._restarting.discard(instance)

    async def settle(self, timeout_s: float = CATCH_UP_TIMEOUT_S) -> None:
        """Wait for every catch-up measurement still running."""
        if self._measuring:
            await asyncio.wait(self._measuring, timeout=timeout_s)

    async def lag(self, probe: LagProbe) -> int:
        """Every consumer group's lag, summed."""
        groups = [
            group
            for service in dict.fromkeys(self._service_of.values())
            for group in consumer_groups(self.config, service)
        ]
        return await probe.lag(groups)

    async def _replace(self, instance: str, recovery: Recovery, down_at: float) -> None:
        self.recoveries.append(recovery)
        service = self._service_of[instance]
        process = start_service(service, self.config, self.log_dir, instance=instance)
        self.processes[instance] = process
        try:
            await asyncio.to_thread(process.wait_ready, READY_TIMEOUT_S)
        except (RuntimeError, TimeoutError) as error:
            # Left to the supervisor, as a crash-looping pod is left to Kubernetes.
            recovery.error = str(error).splitlines()[0]
            return
        recovery.ready_s = time.monotonic() - down_at
        groups = consumer_groups(self.config, service)
        self._measuring.append(asyncio.create_task(self._catch_up(recovery, groups, down_at)))

    async def _catch_up(self, recovery: Recovery, groups: list[str], down_at: float) -> None:
        probe = LagProbe(self.kafka)
        deadline = time.monotonic() + CATCH_UP_TIMEOUT_S
        try:
            while time.monotonic() < deadline:
                try:
                    if await probe.lag(groups) == 0:
                        recovery.caught_up_s = time.monotonic() - down_at
                        return
                except Exception:  # the broker is restarting or frozen: ask again
                    await asyncio.sleep(1.0)
                await asyncio.sleep(0.25)
        finally:
            await probe.close()
