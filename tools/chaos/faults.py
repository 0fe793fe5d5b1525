"""When each fault happens, from a seeded generator: kills of random replicas at random
moments, the broker restarted and (separately) frozen, the mail server and the gateways
taken down and brought back.

Kills and broker faults take turns (one lock), so each kill's recovery time is the
service's own and not the broker's; receiver outages overlap anything.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field

from tools.chaos.broker import Broker
from tools.chaos.fleet import Fleet, LagProbe
from tools.chaos.receivers import Gateways, MailServer


@dataclass(frozen=True, slots=True)
class FaultPlan:
    window_s: float  # faults happen within this many seconds of the start
    kills: int
    broker_restart: bool
    broker_freeze_s: float  # 0: no freeze
    receiver_outages: int
    seed: int


@dataclass
class BrokerFault:
    kind: str  # "restart" or "freeze"
    at_s: float
    down_s: float  # until the broker answered again (restart) or SIGCONT (freeze)
    caught_up_s: float | None = None  # until every consumer group's lag was 0 again


@dataclass
class Outage:
    server: str
    at_s: float
    down_s: float


@dataclass
class FaultLog:
    broker: list[BrokerFault] = field(default_factory=list)
    outages: list[Outage] = field(default_factory=list)


class Injector:
    def __init__(
        self,
        plan: FaultPlan,
        fleet: Fleet,
        broker: Broker | None,
        mail: MailServer,
        gateways: Gateways,
    ) -> None:
        self.plan = plan
        self.log = FaultLog()
        self._fleet = fleet
        self._broker = broker
        self._mail = mail
        self._gateways = gateways
        self._rng = random.Random(plan.seed)
        self._turn = asyncio.Lock()
        self._began = time.monotonic()

    async def run(self) -> None:
        await asyncio.gather(self._kills(), self._broker_faults(), self._outages())

    def _since(self) -> float:
        return time.monotonic() - self._began

    async def _at(self, second: float) -> None:
        await asyncio.sleep(max(0.0, second - self._since()))

    def _moments(self, count: int) -> list[float]:
        return sorted(self._rng.uniform(0.05, 0.95) * self.plan.window_s for _ in range(count))

    async def _kills(self) -> None:
        for moment in self._moments(self.plan.kills):
            await self._at(moment)
            async with self._turn:
                instance = self._rng.choice(self._fleet.instances)
                # Kubernetes notices at once and restarts after a short back-off.
                await self._fleet.kill(instance, restart_after_s=self._rng.uniform(0.5, 3.0))

    async def _broker_faults(self) -> None:
        if self._broker is None:
            return
        broker = self._broker
        if self.plan.broker_restart:
            await self._at(0.35 * self.plan.window_s)
            async with self._turn:
                fault = BrokerFault("restart", self._since(), 0.0)
                fault.down_s = await asyncio.to_thread(broker.restart)
                self.log.broker.append(fault)
                await self._until_caught_up(fault)
        if self.plan.broker_freeze_s > 0:
            await self._at(0.7 * self.plan.window_s)
            async with self._turn:
                fault = BrokerFault("freeze", self._since(), self.plan.broker_freeze_s)
                await asyncio.to_thread(broker.freeze, self.plan.broker_freeze_s)
                self.log.broker.append(fault)
                await self._until_caught_up(fault)

    async def _until_caught_up(self, fault: BrokerFault, timeout_s: float = 300) -> None:
        probe = LagProbe(self._fleet.kafka)
        started = self._began + fault.at_s
        try:
            while time.monotonic() - started < timeout_s:
                try:
                    if await self._fleet.lag(probe) == 0:
                        fault.caught_up_s = time.monotonic() - started
                        return
                except Exception:  # still reconnecting
                    await asyncio.sleep(1.0)
                await asyncio.sleep(0.25)
        finally:
            await probe.close()

    async def _outages(self) -> None:
        for moment in self._moments(self.plan.receiver_outages):
            await self._at(moment)
            server = self._rng.choice(("mail", "gateways", "both"))
            down_s = self._rng.uniform(3.0, 20.0)
            self.log.outages.append(Outage(server, self._since(), down_s))
            if server in ("mail", "both"):
                await asyncio.to_thread(self._mail.stop)
            if server in ("gateways", "both"):
                await self._gateways.stop()
            await asyncio.sleep(down_s)
            await asyncio.to_thread(self._mail.start)
            await self._gateways.start()
