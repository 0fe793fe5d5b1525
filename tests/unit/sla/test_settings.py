from __future__ import annotations

import pytest

from services.sla.adapters.faust_app import make_app
from services.sla.config import SlaSettings


@pytest.mark.parametrize(
    ("env", "url"),
    [
        ({"KINTSUGI_SLA_WORKER_NAME": "sla-0"}, "http://sla-0:8080"),
        (
            {"KINTSUGI_SLA_API_HOST": "127.0.0.1", "KINTSUGI_SLA_API_PORT": "19111"},
            "http://127.0.0.1:19111",
        ),
        # The ops port is not where /clocks is served, so it never names this worker.
        (
            {"KINTSUGI_SLA_OPS_HOST": "127.0.0.1", "KINTSUGI_SLA_OPS_PORT": "19112"},
            "http://sla-0:8080",
        ),
        ({"KINTSUGI_SLA_ADVERTISED_URL": "http://sla-0.sla:8080"}, "http://sla-0.sla:8080"),
    ],
)
def test_other_workers_reach_this_one_at_its_advertised_url(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], url: str
) -> None:
    monkeypatch.setenv("KINTSUGI_SLA_WORKER_NAME", "sla-0")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert SlaSettings().own_url == url


def test_the_store_is_rocksdb_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    assert SlaSettings().store_url == "rocksdb://"
    monkeypatch.setenv("KINTSUGI_SLA_STORE", "memory")
    assert SlaSettings().store_url == "memory://"
    monkeypatch.setenv("KINTSUGI_SLA_STORE", "redis")
    with pytest.raises(ValueError, match="store"):
        SlaSettings()


def test_a_static_group_member_is_named_by_its_worker_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KINTSUGI_SLA_WORKER_NAME", "kintsugi-sla-1")
    assert make_app(SlaSettings()).conf.consumer_group_instance_id is None
    monkeypatch.setenv("KINTSUGI_SLA_STATIC_MEMBERSHIP", "true")
    assert make_app(SlaSettings()).conf.consumer_group_instance_id == "kintsugi-sla-1"
