"""The YOLOv9 op search: searchable ELAN block, target-adaptive scopes, one-shot supernet, latency.

Importing this package teaches ultralytics' model parser the ``SearchableELAN`` row (see ``network``), so
exported subnets load with ``YOLO("best.yaml")`` / ``YOLO("best.pt")``.
"""

from . import network  # noqa: F401  (registers the block with ultralytics' parser)
from .block import SearchableELAN  # noqa: F401
