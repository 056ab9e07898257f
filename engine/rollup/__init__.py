"""Metric rollups: the quantile sketch, bucket arithmetic and the pure pieces of the query planner.

Nothing here touches a database; `engine.storage.rollup_rows` moves rows in and out.
"""
