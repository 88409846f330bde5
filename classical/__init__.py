"""The YOLOv9-neck op search space (issue 4): searchable ELAN block, scopes, one-shot supernet, latency tables."""
