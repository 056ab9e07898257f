from engine.fingerprint import label_fingerprint


def test_matches_prometheus_label_set_fingerprint() -> None:
    # test vectors of prometheus/common model.labelSetToFingerprint
    assert int(label_fingerprint({}), 16) == 14695981039346656037
    labels = {"name": "garland, briggs", "fear": "love is not enough"}
    assert int(label_fingerprint(labels), 16) == 5799056148416392346


def test_order_independent_and_value_sensitive() -> None:
    a = label_fingerprint({"alertname": "X", "host": "web-1"})
    assert a == label_fingerprint({"host": "web-1", "alertname": "X"})
    assert a != label_fingerprint({"alertname": "X", "host": "web-2"})
    # the separator keeps label boundaries apart
    assert label_fingerprint({"ab": "c"}) != label_fingerprint({"a": "bc"})
    assert len(a) == 16
