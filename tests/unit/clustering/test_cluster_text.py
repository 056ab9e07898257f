from __future__ import annotations

from engine.clustering.text import cosine, name_words, unit_vector, words


def test_replicas_failing_the_same_way_read_the_same() -> None:
    one = words("checkout p99 latency 4338ms above SLO (300ms) on checkout-1e834")
    other = words("checkout p99 latency 1160ms above SLO (300ms) on checkout-b980a")
    assert one == other
    assert "1e834" not in one and "on" not in one
    assert "#ms" in one  # the unit stays: it says what was measured


def test_ids_and_hashes_disappear() -> None:
    assert words("container 3f2a9c81d0e4 of pod api-5d8f7b9c4-x2x9q restarted 12 times") == [
        "container", "pod", "api", "restarted", "times",
    ]


def test_short_words_with_digits_survive() -> None:
    assert words("http2 errors on ipv4 after 30s") == ["http#", "errors", "ipv#", "after", "#s"]


def test_alert_names_split_into_words() -> None:
    assert name_words("DatabaseConnectionsNearLimit") == ("database", "connections", "near", "limit")
    assert name_words("kube_pod_crash_looping") == ("kube", "pod", "crash", "looping")
    assert name_words("TLSCertificateExpiry") == ("tls", "certificate", "expiry")


def test_cosine_of_unit_vectors() -> None:
    a = unit_vector([("disk", 1.0), ("full", 1.0)])
    b = unit_vector([("disk", 1.0), ("slow", 1.0)])
    assert abs(cosine(a, a) - 1.0) < 1e-9
    assert abs(cosine(a, b) - 0.5) < 1e-9
    assert cosine(a, unit_vector([("cpu", 1.0)])) == 0.0
    assert cosine(a, {}) == 0.0
