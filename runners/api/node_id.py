"""``Node-Id``: the job-launcher node a request acts as, which must belong to the authenticated user.

UFDL's launcher sends ``Node-Id: <pk>`` on every call once it has registered. UFDL believed the header
(any user could act as any node); here the node must be the caller's own, and its owner must still be
allowed to act as a node (``runners.act_as_node``, or staff). The source address is never trusted: a
node registers with its routing address, which need not be the one the server sees.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef
from django.utils import timezone

from config.errors import MalformedRequest, PermissionDenied, Problem
from runners.capabilities import node_owner_q
from runners.models import Node
from runners.services import node_touch

NODE_ID_HEADER = "Node-Id"
_CACHE_ATTRIBUTE = "_acting_node"
_UNSET = object()
_PK = re.compile(r"[0-9]{1,18}")


class NodeNotYours(PermissionDenied):
    """A Node-Id naming a node the caller does not own, or none at all (one answer: nothing leaks)."""

    code = "node_not_yours"


class NodePermissionRequired(PermissionDenied):
    code = "node_permission_required"


def parse_node_id(raw: str) -> int:
    """The header's pk: a positive integer, else a 400 naming the header."""
    text = raw.strip()
    if not _PK.fullmatch(text) or int(text) == 0:
        raise MalformedRequest(
            f"The {NODE_ID_HEADER} header must be a node's pk (a positive integer).",
            problems=[Problem(path=f"headers.{NODE_ID_HEADER}", code="invalid_node_id", message=repr(raw[:40]))],
        )
    return int(text)


def request_node(request) -> Node | None:
    """The node ``request`` acts as (``Node-Id``), or None without the header. Loaded once per request
    (one query) and marked seen (throttled by NODE_TOUCH_SECONDS). 400 for a malformed header, 403 for
    another user's node or a nonexistent one, 403 when its owner may no longer act as a node."""
    holder = getattr(request, "_request", request)  # DRF's Request wraps Django's HttpRequest
    cached = getattr(holder, _CACHE_ATTRIBUTE, _UNSET)
    if cached is not _UNSET:
        return cast("Node | None", cached)  # what this function put there
    raw = request.headers.get(NODE_ID_HEADER)
    if raw is None:
        setattr(holder, _CACHE_ATTRIBUTE, None)
        return None
    pk = parse_node_id(raw)
    user = request.user
    if user is None or not user.is_authenticated:
        raise NodeNotYours(f"Node {pk} is not one of yours.")
    owner_may_act = get_user_model().objects.filter(pk=OuterRef("owner_id")).filter(node_owner_q(prefix=""))
    node = (
        Node.objects.filter(pk=pk, owner=user)
        .select_related("hardware_generation")
        .annotate(owner_may_act=Exists(owner_may_act))
        .first()
    )
    if node is None:
        raise NodeNotYours(f"Node {pk} is not one of yours.")
    if not node.owner_may_act:
        raise NodePermissionRequired(
            f"You may no longer act as a node: acting as node {pk} needs the runners.act_as_node permission."
        )
    # node_touch writes at most every NODE_TOUCH_SECONDS; skip even its UPDATE when the row we just
    # read says it would not write.
    now = timezone.now()
    if node.last_seen is None or now - node.last_seen >= timedelta(seconds=settings.NODE_TOUCH_SECONDS):
        node_touch(node=node)
    setattr(holder, _CACHE_ATTRIBUTE, node)
    return node
