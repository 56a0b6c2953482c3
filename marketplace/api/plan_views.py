"""Vendors price their agents: /api/v1/vendor/agents/{id}/plans."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from edgeplug.core.schema import empty_for_schema
from edgeplug.core.serializers import validated
from edgeplug.tenancy.scoping import get_for_request
from marketplace import plans
from marketplace.api import commerce_serializers as s
from marketplace.api.permissions import IsVendorPublisher
from marketplace.models import Agent, PricePlan


def _own_agent(request, agent_id: int) -> Agent:
    return get_for_request(Agent.objects.all(), request, pk=agent_id)


def _own_plan(request, agent_id: int, plan_id: int) -> PricePlan:
    return get_for_request(
        PricePlan.objects.select_related("agent"), request, agent_id=agent_id, pk=plan_id
    )


class PlanListCreate(generics.ListAPIView):
    """Every version of the agent's plans, newest version first within each plan."""

    serializer_class = s.PricePlanSerializer
    permission_classes = [IsVendorPublisher]

    @empty_for_schema
    def get_queryset(self):
        return _own_agent(self.request, self.kwargs["agent_id"]).plans.all()

    @extend_schema(request=s.CreatePlanSerializer, responses={201: s.PricePlanSerializer})
    def post(self, request, agent_id):
        agent = _own_agent(request, agent_id)
        data = validated(s.CreatePlanSerializer, request)
        plan = plans.create_plan(agent, actor=request.user, request=request, **data)
        return Response(s.PricePlanSerializer(plan).data, status=status.HTTP_201_CREATED)


class PlanDetail(APIView):
    permission_classes = [IsVendorPublisher]

    @extend_schema(responses=s.PricePlanSerializer)
    def get(self, request, agent_id, plan_id):
        return Response(s.PricePlanSerializer(_own_plan(request, agent_id, plan_id)).data)

    @extend_schema(request=s.RevisePlanSerializer, responses=s.PricePlanSerializer)
    def patch(self, request, agent_id, plan_id):
        plan = _own_plan(request, agent_id, plan_id)
        data = validated(s.RevisePlanSerializer, request)
        plan = plans.revise_plan(plan, actor=request.user, request=request, **data)
        return Response(s.PricePlanSerializer(plan).data)


class PlanRetire(APIView):
    permission_classes = [IsVendorPublisher]

    @extend_schema(request=None, responses=s.PricePlanSerializer)
    def post(self, request, agent_id, plan_id):
        plan = plans.retire_plan(
            _own_plan(request, agent_id, plan_id), actor=request.user, request=request
        )
        return Response(s.PricePlanSerializer(plan).data)
