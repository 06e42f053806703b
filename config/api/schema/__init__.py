"""OpenAPI: document every route the way it answers: no trailing slash, distinct operation ids, bare arrays
from ``POST …/list``, the filter spec, GET filters, kind-specific representations and every error response.

drf-spectacular builds the document; ``AutoSchema`` corrects what it cannot know from DRF alone (our list
flavours, our error envelope, which DELETE answers a body) so that no view needs decorating for it.
"""

from config.api.schema.autoschema import AutoSchema, strip_trailing_slashes

__all__ = ["AutoSchema", "strip_trailing_slashes"]
