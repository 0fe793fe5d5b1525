"""Moving running clocks to a new policy version: an operator's command, never automatic.

``MigrationApi`` serves ``POST /migrations`` on a worker's ops port (the operators' port,
not the public API): the worker migrates the complaints on the partitions it owns and
answers with what it moved. ``python -m services.sla migrate-clocks`` sends the same
request to every worker named and checks that, together, they covered every partition;
a migration is idempotent, so when a rebalance left a partition out, running it again
finishes the job.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from typing import Any, Protocol

import aiohttp
from aiohttp import web

from kintsugi.common.logs import get_logger
from kintsugi.common.topics import COMPLAINT_PARTITIONS
from services.sla.adapters.keeper import Migration
from services.sla.domain import StateError

log = get_logger(__name__)

MIGRATIONS_PATH = "/migrations"


class Migrator(Protocol):
    async def migrate(self, policy_id: str, to_version: int, *, dry_run: bool) -> Migration: ...


class MigrationApi:
    def __init__(self, migrator: Migrator) -> None:
        self._migrator = migrator

    async def handle(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            policy_id = body["policy"]
            to_version = body["to_version"]
            dry_run = body.get("dry_run", False)
            if not (
                isinstance(policy_id, str) and type(to_version) is int and isinstance(dry_run, bool)
            ):
                raise TypeError
        except (ValueError, KeyError, TypeError, AttributeError):
            return web.json_response(
                {"error": 'expected {"policy": str, "to_version": int, "dry_run": bool}'},
                status=400,
            )
        log.info(
            "clock_migration_requested", policy=policy_id, to_version=to_version, dry_run=dry_run
        )
        try:
            report = await self._migrator.migrate(policy_id, to_version, dry_run=dry_run)
        except StateError as error:
            return web.json_response({"error": str(error)}, status=400)
        return web.json_response({**report.summary(), "examples": report.examples})


async def migrate_on_workers(
    workers: Sequence[str],
    policy_id: str,
    to_version: int,
    *,
    dry_run: bool,
    partitions: int = COMPLAINT_PARTITIONS,
    timeout_s: float = 600.0,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Ask each worker in turn; the reports, and every problem (a worker that failed, or
    partitions no worker covered)."""
    reports: list[dict[str, Any]] = []
    problems: list[str] = []
    covered: set[int] = set()
    payload = {"policy": policy_id, "to_version": to_version, "dry_run": dry_run}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session:
        for worker in workers:
            url = worker.rstrip("/") + MIGRATIONS_PATH
            try:
                async with session.post(url, json=payload) as response:
                    body = await response.json()
                    if response.status != 200:
                        problems.append(f"{worker}: {response.status} {body.get('error', body)}")
                        continue
            except (aiohttp.ClientError, TimeoutError, ValueError) as error:
                problems.append(f"{worker}: {error!r}")
                continue
            reports.append(body)
            covered.update(body.get("partitions", []))
    missing = sorted(set(range(partitions)) - covered)
    if missing and reports:
        problems.append(
            f"partitions {missing} were owned by no worker asked (rebalancing, or a worker "
            "not named): run the command again once the group is stable"
        )
    return reports, problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.sla migrate-clocks",
        description="Move running clocks of a policy to one of its versions (logged per clock).",
    )
    parser.add_argument("--policy", required=True, help="policy id, e.g. au-asic-rg271")
    parser.add_argument("--to-version", required=True, type=int, help="target policy version")
    parser.add_argument(
        "--worker",
        action="append",
        required=True,
        help="ops URL of an sla worker, e.g. http://sla-0.sla:9103 (repeat for each worker)",
    )
    parser.add_argument("--dry-run", action="store_true", help="only report what would move")
    args = parser.parse_args(argv)
    reports, problems = asyncio.run(
        migrate_on_workers(args.worker, args.policy, args.to_version, dry_run=args.dry_run)
    )
    verb = "would move" if args.dry_run else "moved"
    for report in reports:
        print(
            f"{report['worker']} (partitions {report['partitions']}): {verb} "
            f"{report['clocks']} clocks on {report['complaints']} complaints"
        )
        for example in report["examples"]:
            print("  " + json.dumps(example))
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if problems else 0
