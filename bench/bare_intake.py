"""The gRPC baseline: a bare grpc.aio server of IntakeService.SubmitComplaint.

    python -m bench.bare_intake --port PORT

Same generated stubs, same server options and reflection as intake, and a handler that
returns a fixed response: what grpc.aio itself costs per request on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

import grpc
from grpc_reflection.v1alpha import reflection

from kintsugi.events.v1 import complaint_pb2 as pb
from kintsugi.intake.v1 import intake_pb2, intake_pb2_grpc

RESPONSE = intake_pb2.SubmitComplaintResponse(
    complaint_id="CMP-0000000000000000",
    category="fees",
    severity=pb.SEVERITY_MEDIUM,
    regime="uk-fca-disp",
    reasons=[pb.Reason(code="category.fees", detail="bench")],
)


class BareIntake(intake_pb2_grpc.IntakeServiceServicer):
    async def SubmitComplaint(
        self, request: intake_pb2.SubmitComplaintRequest, context: grpc.aio.ServicerContext
    ) -> intake_pb2.SubmitComplaintResponse:
        return RESPONSE


async def serve(port: int) -> None:
    server = grpc.aio.server()
    intake_pb2_grpc.add_IntakeServiceServicer_to_server(BareIntake(), server)
    name = intake_pb2.DESCRIPTOR.services_by_name["IntakeService"].full_name
    reflection.enable_server_reflection((name, reflection.SERVICE_NAME), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print("ready", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await server.stop(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
