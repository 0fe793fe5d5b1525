"""`migrate-clocks`: an operator moves running clocks to a new policy version, over HTTP,
worker by worker; a dry run changes nothing, a real one is logged and idempotent."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from kintsugi.common.codec import decode, event_type
from services.sla.adapters.keeper import ClockKeeper
from services.sla.adapters.migration import MIGRATIONS_PATH, MigrationApi, migrate_on_workers
from services.sla.domain import ComplaintFacts, PolicySet
from services.sla.domain.policy import DEFAULT_POLICY_DIRECTORY, HISTORY_DIRECTORY
from services.sla.service import SlaService

from .keeper_support import PARTITIONS, Now, RecordingProducer, make_keeper

RECEIVED = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)  # 20:00 in Sydney
NOW = Now(datetime(2026, 6, 10, tzinfo=UTC))
COMPLAINTS = {"C-trustee": "traditional_trustee_services", "C-fees": "fees"}


def policies_before_version_2(directory: Path) -> PolicySet:
    for file in DEFAULT_POLICY_DIRECTORY.glob("*.yaml"):
        shutil.copy(file, directory / file.name)
    shutil.copy(
        DEFAULT_POLICY_DIRECTORY / HISTORY_DIRECTORY / "au-asic-rg271.v1.yaml",
        directory / "au-asic-rg271.yaml",
    )
    return PolicySet.load(directory)


async def keeper_with_version_1_clocks(
    tmp_path: Path, owned: range = range(PARTITIONS)
) -> tuple[ClockKeeper, dict[bytes, bytes], RecordingProducer]:
    """A worker on version 2, holding complaints started under version 1."""
    keeper, table, producer = await make_keeper(NOW)
    before = SlaService(policies_before_version_2(tmp_path))
    for complaint_id, category in COMPLAINTS.items():
        facts = ComplaintFacts(
            complaint_id, "au-asic-rg271", "AU-NSW", "medium", "email", category, RECEIVED
        )
        state = before.start(facts, None).state
        assert state is not None
        table[complaint_id.encode()] = state
    await keeper.assign([])
    await keeper.assign(owned)
    return keeper, table, producer


@pytest.fixture
async def serve() -> AsyncIterator[object]:
    servers: list[TestServer] = []

    async def start(keeper: ClockKeeper) -> str:
        app = web.Application()
        app.router.add_post(MIGRATIONS_PATH, MigrationApi(keeper).handle)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return str(server.make_url("")).rstrip("/")

    yield start
    for server in servers:
        await server.close()


def final_response_due(keeper: ClockKeeper, complaint_id: str) -> tuple[str, int, str]:
    explained = keeper.explain(complaint_id, NOW())
    assert explained is not None
    (clock,) = [
        c
        for c in explained
        if c["policy_id"] == "au-asic-rg271"
        and c["clock_kind"] == "final_response"
        and c["state"] == "running"
    ]
    return clock["clock_id"], clock["policy_version"], clock["due_local_date"]  # type: ignore[return-value]


async def test_a_dry_run_reports_what_would_move_and_changes_nothing(tmp_path, serve) -> None:  # type: ignore[no-untyped-def]
    keeper, table, _ = await keeper_with_version_1_clocks(tmp_path)
    before = dict(table)
    url = await serve(keeper)

    reports, problems = await migrate_on_workers(
        [url], "au-asic-rg271", 2, dry_run=True, partitions=PARTITIONS
    )

    assert problems == []
    (report,) = reports
    assert (report["complaints"], report["dry_run"]) == (2, True)
    moved = {(e["complaint_id"], e["clock_id"], e["to_clock_id"]) for e in report["examples"]}
    assert ("C-trustee", "asic-final-30d", "asic-final-45d") in moved
    assert ("C-fees", "asic-final-30d", "asic-final-30d") in moved
    assert dict(table) == before


async def test_a_migration_moves_running_clocks_once_and_publishes_the_supersession(
    tmp_path, serve
) -> None:  # type: ignore[no-untyped-def]
    keeper, _, producer = await keeper_with_version_1_clocks(tmp_path)
    url = await serve(keeper)
    assert final_response_due(keeper, "C-trustee") == ("asic-final-30d", 1, "2026-07-01")

    await migrate_on_workers([url], "au-asic-rg271", 2, dry_run=False, partitions=PARTITIONS)
    again, _ = await migrate_on_workers(
        [url], "au-asic-rg271", 2, dry_run=False, partitions=PARTITIONS
    )

    assert final_response_due(keeper, "C-trustee") == ("asic-final-45d", 2, "2026-07-16")
    assert final_response_due(keeper, "C-fees") == ("asic-final-30d", 2, "2026-07-01")
    assert again[0]["clocks"] == 0  # idempotent: nothing left on version 1
    published = [decode(s.value) for s in producer.sent]
    assert sorted(event_type(e) for e in published) == ["clock_stopped", "clocks_started"]
    assert {e.complaint_id for e in published} == {"C-trustee"}


@pytest.mark.parametrize(
    ("owned", "version", "problem"),
    [
        (range(PARTITIONS // 2), 2, "were owned by no worker asked"),
        (range(PARTITIONS), 7, "policy 'au-asic-rg271' version 7 is not loaded"),
    ],
    ids=["partitions left out", "unknown version"],
)
async def test_the_command_fails_naming_what_went_wrong(
    tmp_path, serve, owned: range, version: int, problem: str
) -> None:  # type: ignore[no-untyped-def]
    keeper, _, _ = await keeper_with_version_1_clocks(tmp_path, owned)
    url = await serve(keeper)

    _, problems = await migrate_on_workers(
        [url], "au-asic-rg271", version, dry_run=True, partitions=PARTITIONS
    )

    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize(
    ("owned", "exit_code", "moved", "problem"),
    [
        (range(PARTITIONS), 0, "would move 4 clocks on 2 complaints", ""),
        (range(0), 1, "would move 0 clocks on 0 complaints", "owned by no worker asked"),
    ],
    ids=["all partitions", "none owned"],
)
async def test_the_cli_reports_each_worker_and_fails_on_a_gap(
    tmp_path, serve, owned: range, exit_code: int, moved: str, problem: str
) -> None:  # type: ignore[no-untyped-def]
    keeper, _, _ = await keeper_with_version_1_clocks(tmp_path, owned)
    url = await serve(keeper)
    command = [sys.executable, "-m", "services.sla", "migrate-clocks"]
    args = ["--policy", "au-asic-rg271", "--to-version", "2", "--worker", url, "--dry-run"]

    process = await asyncio.create_subprocess_exec(
        *command, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()

    assert process.returncode == exit_code, err.decode()
    assert moved in out.decode()
    assert problem in err.decode()
