"""``make chaos``: complaints and their activities streamed through the real system while
services are killed, the broker restarts and stalls, and the mail server and gateways come
and go; afterwards the topics and the receiving servers are checked for losses and doubles.

scenario   what is submitted, and what each complaint must end with
load       streams the scenario over gRPC, as a patient upstream system would
fleet      the service processes: kill, restart as Kubernetes would, time the recovery
broker     the run's own Kafka broker (never the shared one): restart, SIGSTOP/SIGCONT
receivers  the mail server and the HTTP gateways, which go down and up
faults     when each fault happens
timeline   every event and dead letter, read back while the run goes on
verify     the checks, from the timeline and what the receivers got
quiet      closing Kafka clients whose broker is away
report     Markdown and JSON
run        the command line (``python -m tools.chaos``)
"""
