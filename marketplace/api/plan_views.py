"""Vendors price their agents: /api/v1/vendor/agents/{id}/plans."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from edgeplug.core.schema import empty_for_schema, error_response
from edgeplug.core.serializers import refuse_body, validated
from edgeplug.tenancy.scoping import get_for_request
from marketplace import plans
from marketplace.api import commerce_serializers as s
from marketplace.api.permissions import CanTakeBack, ReadToTakeBack
from marketplace.api.preconditions import if_match, if_match_parameter
from marketplace.models import Agent, PricePlan


def _own_agent(request, agent_id: int) -> Agent:
    return get_for_request(Agent.objects.all(), request, pk=agent_id)


def _own_plan(request, agent_id: int, plan_id: int) -> PricePlan:
    return get_for_request(
        PricePlan.objects.select_related("agent"), request, agent_id=agent_id, pk=plan_id
    )


def _tagged(plan: PricePlan, **kwargs) -> Response:
    """The plan, with its entity tag (its ``etag``, ``plans.plan_fingerprint``): a client
    sends it back in ``If-Match`` so that its change is refused if the plan changed since it
    read it."""
    data = s.PricePlanSerializer(plan).data
    response = Response(data, **kwargs)
    response["ETag"] = data["etag"]
    return response


ETAG = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="The plan as this answer shows it, as an entity tag: send it back in If-Match.",
    response=[200, 201],
)


IF_MATCH = if_match_parameter("plan", "plan_changed", "undoing that change unseen")


class PlanListCreate(ReadToTakeBack, generics.ListAPIView):
    """Every version of the agent's plans, newest version first within each plan."""

    serializer_class = s.PricePlanSerializer

    @empty_for_schema
    def get_queryset(self):
        return _own_agent(self.request, self.kwargs["agent_id"]).plans.all()

    @extend_schema(
        request=s.CreatePlanSerializer, parameters=[ETAG], responses={201: s.PricePlanSerializer}
    )
    def post(self, request, agent_id):
        agent = _own_agent(request, agent_id)
        data = validated(s.CreatePlanSerializer, request)
        plan = plans.create_plan(agent, actor=request.user, request=request, **data)
        return _tagged(plan, status=status.HTTP_201_CREATED)


class PlanDetail(ReadToTakeBack, APIView):
    @extend_schema(parameters=[ETAG], responses=s.PricePlanSerializer)
    def get(self, request, agent_id, plan_id):
        return _tagged(_own_plan(request, agent_id, plan_id))

    @extend_schema(
        request=s.RevisePlanSerializer,
        parameters=[IF_MATCH, ETAG],
        responses={
            200: s.PricePlanSerializer,
            412: error_response(
                412, "plan_changed: the plan's name or price changed since the If-Match ETag."
            ),
        },
    )
    def patch(self, request, agent_id, plan_id):
        plan = _own_plan(request, agent_id, plan_id)
        data = validated(s.RevisePlanSerializer, request)
        seen = if_match(request)
        revised = plans.revise_plan(plan, actor=request.user, request=request, seen=seen, **data)
        response = _tagged(revised)
        if revised.pk != plan.pk:  # a held plan's change is its next version, at its own URL
            response["Content-Location"] = reverse(
                "vendor-agent-plan", kwargs={"agent_id": agent_id, "plan_id": revised.pk}
            )
        return response


class PlanRetire(APIView):
    permission_classes = [CanTakeBack]

    @extend_schema(request=None, parameters=[ETAG], responses=s.PricePlanSerializer)
    def post(self, request, agent_id, plan_id):
        plan = _own_plan(request, agent_id, plan_id)
        refuse_body(request)
        plan = plans.retire_plan(plan, actor=request.user, request=request)
        return _tagged(plan)
