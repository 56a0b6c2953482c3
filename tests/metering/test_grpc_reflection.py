"""What grpcurl does, done by a Python client that has no generated code: server reflection
lists the services, gives their descriptors, and a request built from them is answered."""

import pytest
from google.protobuf import json_format
from google.protobuf.descriptor_pool import DescriptorPool
from google.protobuf.message_factory import GetMessageClass
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from billing.models import UsageEvent
from tests.metering.test_grpc_usage import channel  # noqa: F401 - the gRPC server

pytestmark = pytest.mark.django_db(transaction=True)


def test_reflection_alone_is_enough_to_call_the_usage_service(channel, metered):  # noqa: F811
    database = ProtoReflectionDescriptorDatabase(channel)
    services = set(database.get_services())
    assert {
        "edgeplug.usage.v1.UsageService",
        "edgeplug.certification.v1.CertificationService",
        "grpc.health.v1.Health",
    } <= services
    pool = DescriptorPool(database)
    watch = pool.FindServiceByName("edgeplug.certification.v1.CertificationService")
    assert watch.FindMethodByName("WatchRun").server_streaming
    method = pool.FindServiceByName("edgeplug.usage.v1.UsageService").FindMethodByName(
        "ReportBatch"
    )
    request_class = GetMessageClass(method.input_type)
    response_class = GetMessageClass(method.output_type)
    # The JSON a grpcurl user would type (-d '{...}').
    event = metered.session(1, metered.base, 30)
    request = json_format.ParseDict(
        {"events": [{**event, "kind": "KIND_SESSION"}]}, request_class()
    )
    call = channel.unary_unary(
        "/edgeplug.usage.v1.UsageService/ReportBatch",
        request_serializer=request_class.SerializeToString,
        response_deserializer=response_class.FromString,
    )
    token = metered.device_api._credentials["HTTP_AUTHORIZATION"]
    reply = json_format.MessageToDict(call(request, metadata=(("authorization", token),)))
    assert reply["results"] == [{"seq": "1", "outcome": "OUTCOME_ACCEPTED"}]
    assert reply["totals"] == {"accepted": 1}
    assert UsageEvent.objects.count() == 1
