"""The domain: models, detection, clustering, scoring, enrichment, playbooks and storage."""
