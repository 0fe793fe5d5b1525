"""A local stack with several replicas of a service: each its own ports and sla folder."""

from __future__ import annotations

from pathlib import Path

from tools.devstack.processes import StackConfig


def _config() -> StackConfig:
    return StackConfig.on_free_ports(
        "127.0.0.1:9092",
        "t.",
        smtp_port=2525,
        sla_data_dir=Path("/tmp/run/sla"),
        replicas={"intake": 2, "sla": 2},
    )


def test_every_replica_is_an_instance_with_its_own_ops_port() -> None:
    config = _config()
    names = [name for _, name in config.instances()]
    assert names == ["intake", "intake-2", "router", "sla", "sla-2", "notifier"]
    assert len({config.ops_ports[name] for name in names}) == len(names)


def test_intake_replicas_listen_on_their_own_grpc_ports_behind_one_target() -> None:
    config = _config()
    first = config.env("intake")["KINTSUGI_INTAKE_GRPC_PORT"]
    second = config.env("intake", "intake-2")["KINTSUGI_INTAKE_GRPC_PORT"]
    assert first != second
    assert config.grpc_target() == f"ipv4:127.0.0.1:{first},127.0.0.1:{second}"


def test_sla_workers_share_the_app_id_but_not_their_state_or_url() -> None:
    config = _config()
    one, two = config.env("sla"), config.env("sla", "sla-2")
    assert one["KINTSUGI_SLA_APP_ID"] == two["KINTSUGI_SLA_APP_ID"]
    assert one["KINTSUGI_SLA_DATA_DIR"] == "/tmp/run/sla"
    assert two["KINTSUGI_SLA_DATA_DIR"] == "/tmp/run/sla-2"
    # Decision 16: each worker advertises its own URL, here its own ops port.
    assert one["KINTSUGI_SLA_OPS_PORT"] != two["KINTSUGI_SLA_OPS_PORT"]


def test_a_stack_without_replicas_is_what_it_always_was() -> None:
    config = StackConfig.on_free_ports("127.0.0.1:9092", "t.", smtp_port=2525)
    assert [name for _, name in config.instances()] == ["intake", "router", "sla", "notifier"]
    assert config.env("intake")["KINTSUGI_INTAKE_GRPC_PORT"] == str(config.grpc_port)


def test_sla_workers_are_static_group_members_under_their_own_names() -> None:
    config = _config()
    one, two = config.env("sla"), config.env("sla", "sla-2")
    assert one["KINTSUGI_SLA_STATIC_MEMBERSHIP"] == two["KINTSUGI_SLA_STATIC_MEMBERSHIP"] == "true"
    assert one.get("KINTSUGI_SLA_WORKER_NAME") != two["KINTSUGI_SLA_WORKER_NAME"] == "sla-2"
