"""Where an alert is, read from label conventions rather than from any particular estate's names.

Prometheus setups spell the same idea differently (`service` or `app`, `instance` or `host`), so each
notion is a list of keys tried in order. The answer feeds clustering: the service ties an alert to the
catalog, the host ties node-level alerts together, the cluster keeps estates apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.catalog import Catalog
from engine.models import Labels


@dataclass(frozen=True, slots=True)
class LabelSemantics:
    service: tuple[str, ...] = ("service", "app", "application", "app_kubernetes_io_name", "service_name")
    host: tuple[str, ...] = ("instance", "host", "hostname", "node", "nodename", "kubernetes_node")
    cluster: tuple[str, ...] = ("cluster", "k8s_cluster", "kubernetes_cluster", "cluster_name")
    # Labels naming one replica of a workload: an alert carrying one is about the workload, not the host.
    workload: tuple[str, ...] = (
        "pod",
        "container",
        "deployment",
        "statefulset",
        "daemonset",
        "replicaset",
        "job_name",
    )

    def first(self, labels: Labels, keys: tuple[str, ...]) -> str | None:
        for key in keys:
            value = labels.get(key)
            if value:
                return value
        return None

    @property
    def location_keys(self) -> frozenset[str]:
        """Keys that say where, not what: text similarity leaves them to the location evidence."""
        return frozenset((*self.service, *self.host, *self.cluster, *self.workload, "alertname"))


@dataclass(frozen=True, slots=True)
class AlertLocation:
    service: str | None
    host: str | None
    cluster: str | None
    # True when the alert is about the host itself (a node problem), so that sharing the host is
    # strong evidence; for a pod's alert the host is only where the scheduler happened to put it.
    host_level: bool
    # The service is a catalog entry, so dependencies can relate it to other alerts.
    in_catalog: bool


def host_name(raw: str) -> str:
    """`node-d4:9100` and `node-d4` are the same host: the port is the exporter's, not the host's."""
    head, sep, tail = raw.rpartition(":")
    if sep and tail.isdigit() and head:
        return head.strip("[]")
    return raw


def locate(labels: Labels, semantics: LabelSemantics, catalog: Catalog) -> AlertLocation:
    service = semantics.first(labels, semantics.service)
    raw_host = semantics.first(labels, semantics.host)
    host = host_name(raw_host) if raw_host else None
    in_catalog = service is not None and service in catalog
    has_workload = semantics.first(labels, semantics.workload) is not None
    host_level = host is not None and not has_workload and not in_catalog
    return AlertLocation(
        service=service,
        host=host,
        cluster=semantics.first(labels, semantics.cluster),
        host_level=host_level,
        in_catalog=in_catalog,
    )
