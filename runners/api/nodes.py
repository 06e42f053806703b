"""``/v1/nodes``: UFDL job-launcher nodes register and update themselves, list, ping and leave.

A node belongs to the user who registered it (who needs ``runners.act_as_node``, or to be staff);
users see and change their own nodes, admins all of them. UFDL's shapes: a node is
``{pk, ip, index, driver_version, hardware_generation, gpu_mem, cpu_mem, last_seen, current_job}``
(``hardware_generation`` a ``/v1/hardware`` pk or null; ``current_job`` the job it holds), plus ours:
``owner`` and ``alive`` (seen within NODE_STALE_SECONDS).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.filterspec import FilterFields
from config.api.viewsets import ResourceViewSet, request_json_object
from config.errors import Conflict, PermissionDenied
from contracts.api.views.common import parse_input, save_unique
from contracts.models import Hardware
from runners.api.node_id import request_node
from runners.capabilities import node_owner_q
from runners.holdings import holdings
from runners.models import Node

_time = serializers.DateTimeField()
BIG_INT_MAX = 2**63 - 1

NODE_FILTER_FIELDS = FilterFields(
    Node,
    [
        "pk",
        "ip",
        "index",
        "driver_version",
        "hardware_generation",
        "hardware_generation.generation",
        "gpu_mem",
        "cpu_mem",
        "last_seen",
        "creation_time",
        "owner.username",
    ],
    aliases={"owner": "owner__pk"},
)


def node_representation(node: Node) -> dict[str, Any]:
    """UFDL's node, then ours. Reads what ``runners.holdings`` (``nodes_with_jobs``) loaded (``current_jobs``,
    ``alive``): no queries of its own."""
    current_jobs = getattr(node, "current_jobs", [])
    return {
        "pk": node.pk,
        "ip": node.ip,
        "index": node.index,
        "driver_version": node.driver_version,
        "hardware_generation": node.hardware_generation_id,
        "gpu_mem": node.gpu_mem,
        "cpu_mem": node.cpu_mem,
        "last_seen": _time.to_representation(node.last_seen) if node.last_seen else None,
        "current_job": current_jobs[0].pk if current_jobs else None,
        # ours
        "owner": node.owner_id,
        "alive": bool(getattr(node, "alive", False)),
    }


class NodeSerializer(serializers.Serializer):
    """A job-launcher node: where it is, its hardware, when it was last seen and the job it holds."""

    pk = serializers.IntegerField(read_only=True)
    ip = serializers.CharField(read_only=True, help_text="the address the node registered with")
    index = serializers.IntegerField(read_only=True, help_text="its GPU index on that machine")
    driver_version = serializers.CharField(read_only=True, allow_null=True)
    hardware_generation = serializers.IntegerField(read_only=True, allow_null=True, help_text="a /v1/hardware pk")
    gpu_mem = serializers.IntegerField(read_only=True, allow_null=True)
    cpu_mem = serializers.IntegerField(read_only=True, allow_null=True)
    last_seen = serializers.DateTimeField(read_only=True, allow_null=True)
    current_job = serializers.IntegerField(read_only=True, allow_null=True, help_text="the pk of the job it holds")
    owner = serializers.IntegerField(read_only=True, help_text="the user who registered it")
    alive = serializers.BooleanField(read_only=True, help_text="seen within NODE_STALE_SECONDS")

    def to_representation(self, instance: Node) -> dict[str, Any]:
        return node_representation(instance)


class NodeWriteSerializer(serializers.ModelSerializer):
    """What a node says about itself when it registers (``create``) or starts again (``PATCH``)."""

    ip = serializers.CharField(max_length=255, help_text="the node's routing address (not checked against ours)")
    index = serializers.IntegerField(min_value=0, max_value=2**31 - 1, help_text="the GPU index on that machine")
    driver_version = serializers.CharField(max_length=64, allow_null=True, allow_blank=True, required=False)
    hardware_generation = serializers.PrimaryKeyRelatedField(
        queryset=Hardware.objects.all(), allow_null=True, required=False, help_text="a /v1/hardware pk, or null"
    )
    gpu_mem = serializers.IntegerField(min_value=0, max_value=BIG_INT_MAX, allow_null=True, required=False)
    cpu_mem = serializers.IntegerField(min_value=0, max_value=BIG_INT_MAX, allow_null=True, required=False)

    class Meta:
        model = Node
        fields = ["ip", "index", "driver_version", "hardware_generation", "gpu_mem", "cpu_mem"]


def may_act_as_node(user) -> bool:
    """Whether ``user`` may register nodes and act as them (the rule of ``node_owner_q``; one query)."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    if user.is_staff or user.is_superuser:
        return True
    return get_user_model().objects.filter(pk=user.pk).filter(node_owner_q(prefix="")).exists()


class NodeViewSet(mixins.RetrieveModelMixin, ResourceViewSet):
    """UFDL job-launcher nodes. A user with the ``runners.act_as_node`` permission (or an admin)
    registers a node and acts as it by sending ``Node-Id: <pk>``; you see and change your own nodes
    (admins: all). ``current_job`` is the job the node holds; ``alive`` says it was seen within
    NODE_STALE_SECONDS (any request with its Node-Id marks it seen; a silent node's job is released)."""

    serializer_class = NodeSerializer
    filter_fields = NODE_FILTER_FIELDS
    query_filters = {"ip": "ip", "index": "index", "owner": "owner"}
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        nodes = holdings().nodes_with_jobs().order_by("pk")
        user = self.request.user
        if not user.is_staff:
            nodes = nodes.filter(owner=user)
        return nodes

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        request_node(request)  # a bad Node-Id is refused on every route; a good one marks its node seen

    def _require_node_permission(self) -> None:
        if not may_act_as_node(self.request.user):
            raise PermissionDenied(
                "Registering or changing a node needs the runners.act_as_node permission.",
                code="node_permission_required",
            )

    def _save(self, request: Request, instance: Node | None, *, partial: bool) -> Node:
        self._require_node_permission()
        serializer = parse_input(
            NodeWriteSerializer, request_json_object(request, empty={}), instance=instance, partial=partial
        )
        extra: dict[str, Any] = {"last_seen": timezone.now()}  # it is talking to us: it is alive
        if instance is None:
            extra["owner"] = request.user
        node = save_unique(serializer, **extra)
        return self.get_queryset().get(pk=node.pk)

    @extend_schema(request=NodeWriteSerializer, responses={201: NodeSerializer})
    def create(self, request: Request) -> Response:
        """Register a node of yours (needs the ``runners.act_as_node`` permission, or admin): ``ip`` and
        ``index`` (unique per owner: a second registration is a 409), ``driver_version``,
        ``hardware_generation`` (a /v1/hardware pk or null), ``gpu_mem`` and ``cpu_mem`` (bytes)."""
        node = self._save(request, None, partial=False)
        return Response(node_representation(node), status=status.HTTP_201_CREATED)

    @extend_schema(request=NodeWriteSerializer, responses={201: NodeSerializer})
    @action(detail=False, methods=["post"], url_path="create", url_name="create")
    def create_compat(self, request: Request) -> Response:
        """Register a node (UFDL's route; answers 201 as UFDL's did)."""
        return self.create(request)

    @extend_schema(request=NodeWriteSerializer, responses=NodeSerializer)
    def update(self, request: Request, pk=None, partial: bool = False) -> Response:
        """Replace what a node of yours says about itself (admins: any node)."""
        node = self._save(request, self.get_object(), partial=partial)
        return Response(node_representation(node))

    @extend_schema(request=NodeWriteSerializer, responses=NodeSerializer)
    def partial_update(self, request: Request, pk=None) -> Response:
        """Change some of what a node of yours says about itself, as the launcher does on every start."""
        return self.update(request, pk=pk, partial=True)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk=None) -> Response:
        """Remove a node of yours (admins: any); 409 while it holds an unfinished job (finish or release
        it first). The jobs it ran keep their history but no longer name it."""
        node = self.get_object()
        with transaction.atomic():
            # Under the node's row lock, which acquire also takes: no job can be acquired between
            # the check and the delete.
            Node.objects.select_for_update().filter(pk=node.pk).exists()
            current = holdings().node_held_job_id(node)
            if current is not None:
                raise Conflict(
                    f"Node {node.pk} holds job {current}; finish or release it first.",
                    code="node_busy",
                    extra={"job": current},
                )
            node.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: None})
    @action(detail=False, methods=["get"], url_path="ping", url_name="ping")
    def ping(self, request: Request) -> Response:
        """A sign of life: 200 with an empty body, as UFDL answers. With ``Node-Id`` it marks that node
        seen (which keeps the reaper from releasing its job)."""
        return Response()
