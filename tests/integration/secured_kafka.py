"""A second, private Kafka broker that authenticates (SASL/PLAIN) and authorises (KRaft's
StandardAuthorizer) every client: one user per service with the ACLs its Strimzi KafkaUser
grants (``tools.render_kafka_users``, the one source of both), and an admin super user.

Started in a temp dir on free ports from the jars ``tools/kafka`` fetches; the shared
development broker is never touched. Each user's password is made up per start.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kintsugi.common.bootstrap import create_topics, wait_for_cluster
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.topics import ALL_TOPICS
from tools.devstack.processes import free_port
from tools.render_kafka_users import GRANTS, Grant, acls

ROOT = Path(__file__).resolve().parents[2]
KAFKA = ROOT / "tools" / "kafka"
JARS = KAFKA / "target" / "dependency"
ADMIN = "admin"


def acl_lines(grants: Iterable[Grant], prefix: str) -> list[str]:
    """The KafkaUsers' ACLs as ``CreateAcls.java`` reads them ("DescribeConfigs" becomes
    Kafka's enum name DESCRIBE_CONFIGS)."""
    lines = []
    for grant in grants:
        for rule in acls(grant, prefix=prefix):
            resource = rule["resource"]
            for operation in rule["operations"]:
                enum = re.sub(r"(?<!^)(?=[A-Z])", "_", operation).upper()
                lines.append(
                    f"User:{grant.user} {resource['type'].upper()} {resource['name']} "
                    f"{resource['patternType'].upper()} {enum}"
                )
    return lines


@dataclass
class SecuredBroker:
    directory: Path
    topic_prefix: str
    port: int = field(default_factory=free_port)
    controller_port: int = field(default_factory=free_port)
    passwords: dict[str, str] = field(default_factory=dict)
    _process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def settings(self, user: str) -> KafkaSettings:
        return KafkaSettings(
            bootstrap_servers=self.bootstrap,
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism="PLAIN",
            sasl_username=user,
            sasl_password=self.passwords[user],
            topic_prefix=self.topic_prefix,
        )

    async def start(self) -> None:
        users = [ADMIN, *(grant.user for grant in GRANTS)]
        self.passwords = {user: secrets.token_hex(16) for user in users}
        await asyncio.to_thread(self._launch)
        admin = self.settings(ADMIN)
        await wait_for_cluster(admin, timeout_s=90)
        await create_topics(admin, ALL_TOPICS)
        await asyncio.to_thread(self._create_acls)

    def _launch(self) -> None:
        self._write_config()
        classpath = f"{JARS}/*"
        log4j = f"-Dlog4j2.configurationFile={self.directory / 'log4j2.properties'}"
        subprocess.run(
            ["java", log4j, "-cp", classpath, "kafka.tools.StorageTool", "format", "-t",
             "secured-test-cluster-0001", "-c", str(self.directory / "server.properties"),
             "--ignore-formatted"],
            check=True, capture_output=True,
        )  # fmt: skip
        with open(self.directory / "stdout.log", "wb") as out:
            self._process = subprocess.Popen(
                ["java", "-Xms128m", "-Xmx384m", log4j, "-cp", classpath, "kafka.Kafka",
                 str(self.directory / "server.properties")],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def _create_acls(self) -> None:
        client = self.directory / "admin.properties"
        client.write_text(
            f"bootstrap.servers={self.bootstrap}\nsecurity.protocol=SASL_PLAINTEXT\n"
            f"sasl.mechanism=PLAIN\nsasl.jaas.config={_login(ADMIN, self.passwords[ADMIN])}\n"
        )
        subprocess.run(
            ["java", "-cp", f"{JARS}/*", str(KAFKA / "CreateAcls.java"), str(client)],
            input="\n".join(acl_lines(GRANTS, self.topic_prefix)).encode(),
            check=True, capture_output=True,
        )  # fmt: skip
        time.sleep(1)  # ACLs reach the authorizer through the metadata log

    def _write_config(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        users = " ".join(f'user_{user}="{password}"' for user, password in self.passwords.items())
        jaas = f"{_login(ADMIN, self.passwords[ADMIN])[:-1]} {users};"
        (self.directory / "server.properties").write_text(
            f"""process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{self.controller_port}
listeners=SASL_PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}
advertised.listeners=SASL_PLAINTEXT://127.0.0.1:{self.port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_PLAINTEXT
listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT
sasl.enabled.mechanisms=PLAIN
sasl.mechanism.inter.broker.protocol=PLAIN
sasl.mechanism.controller.protocol=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config={jaas}
listener.name.controller.plain.sasl.jaas.config={jaas}
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:{ADMIN}
allow.everyone.if.no.acl.found=false
log.dirs={self.directory / "data"}
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
"""
        )
        (self.directory / "log4j2.properties").write_text(
            f"""appender.file.type=File
appender.file.name=file
appender.file.fileName={self.directory / "server.log"}
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=WARN
rootLogger.appenderRef.file.ref=file
"""
        )


def _login(user: str, password: str) -> str:
    return (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="{user}" password="{password}";'
    )
