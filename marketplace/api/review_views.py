"""Reviews of an agent: read by anyone, signed in or not (of the agents the caller sees, as
the catalogue), written by entitled tenants, one vendor reply."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from edgeplug.core.schema import empty_for_schema, error_response
from edgeplug.core.serializers import validated
from edgeplug.tenancy.permissions import CanReview
from marketplace import catalogue, reviews
from marketplace.api import commerce_serializers as s
from marketplace.api.permissions import IsVendorPublisher
from marketplace.api.preconditions import if_match, if_match_parameter
from marketplace.models import Agent
from marketplace.visibility import review_to_reply, visible_agents


def _visible_agent(request, agent_id: int) -> Agent:
    return generics.get_object_or_404(visible_agents(request), pk=agent_id)


class ReviewListCreate(generics.ListAPIView):
    serializer_class = s.ReviewSerializer

    def get_permissions(self):
        if self.request.method == "POST":
            return [CanReview()]
        return [AllowAny()]

    @empty_for_schema
    def get_queryset(self):
        agent = _visible_agent(self.request, self.kwargs["agent_id"])
        return catalogue.visible_reviews(agent).select_related("tenant")

    @extend_schema(responses=s.ReviewPageSerializer)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        agent = _visible_agent(request, kwargs["agent_id"])
        response.data["summary"] = s.RatingSummarySerializer(catalogue.rating_summary(agent)).data
        return response

    @extend_schema(
        request=s.SubmitReviewSerializer,
        responses={201: s.ReviewSerializer, 200: s.ReviewSerializer},
    )
    def post(self, request, agent_id):
        agent = _visible_agent(request, agent_id)
        data = validated(s.SubmitReviewSerializer, request)
        review, created = reviews.submit_review(
            request.tenant, agent, actor=request.user, request=request, **data
        )
        return Response(
            s.ReviewSerializer(review).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ReviewReply(APIView):
    permission_classes = [IsVendorPublisher]

    @extend_schema(
        request=s.ReplySerializer,
        parameters=[if_match_parameter("review", "review_changed", "a reply to words unread")],
        responses={
            200: s.ReviewSerializer,
            412: error_response(412, "review_changed: the review was rewritten since its etag."),
        },
    )
    def post(self, request, agent_id, review_id):
        review = review_to_reply(request, agent_id, review_id)
        data = validated(s.ReplySerializer, request)
        review = reviews.reply_to_review(
            review, data["text"], seen=if_match(request), actor=request.user, request=request
        )
        return Response(s.ReviewSerializer(review).data)
