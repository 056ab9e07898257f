"""HTTP routes: ingestion, the read API, health and metrics."""
