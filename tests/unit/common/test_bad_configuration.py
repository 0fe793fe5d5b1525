"""A service given a broken configuration file refuses to start and says exactly why."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def _start(module: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("module", "variable", "file_name", "content", "expected"),
    [
        (
            "services.sla",
            "KINTSUGI_SLA_POLICIES_DIR",
            "broken.yaml",
            "clocks: [",
            "invalid YAML",
        ),
        (
            "services.router",
            "KINTSUGI_ROUTER_DIRECTORY_FILE",
            "directory.yaml",
            "default_team: care\nteams:\n  - {id: care, name: Care, members: [{id: a}]}\n",
            "teams[0].members[0].name: required field is missing",
        ),
    ],
)
def test_a_broken_configuration_file_stops_the_service_with_its_path_and_rule(
    tmp_path: Path, module: str, variable: str, file_name: str, content: str, expected: str
) -> None:
    (tmp_path / file_name).write_text(content)
    target = tmp_path if variable.endswith("_DIR") else tmp_path / file_name

    result = _start(module, {variable: str(target), "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"})

    assert result.returncode == 2
    record = json.loads(result.stdout.strip().splitlines()[-1])
    assert record["event"] == "configuration_invalid"
    assert str(tmp_path / file_name) in record["error"]
    assert expected in record["error"]
