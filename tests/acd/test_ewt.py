from __future__ import annotations

import math

import pytest

from ivr.acd.ewt import Method, QueueRates, predict, ql_m


def test_ql_m_formula() -> None:
    # n ahead, s servers: sum_{i=0..n} 1/(s*mu + i*theta)
    assert ql_m(0, 1, 1 / 60, 0.0) == pytest.approx(60.0)
    assert ql_m(2, 2, 0.01, 0.005) == pytest.approx(1 / 0.02 + 1 / 0.025 + 1 / 0.03)
    with pytest.raises(ValueError):
        ql_m(1, 0, 0.01, 0.0)


def test_abandonment_shortens_the_wait() -> None:
    assert ql_m(10, 3, 1 / 200, 1 / 100) < ql_m(10, 3, 1 / 200, 0.0)


def test_online_rates_follow_recent_events() -> None:
    rates = QueueRates(alpha=0.1, min_services=3)
    assert rates.mu is None and rates.theta == 0.0
    for _ in range(50):
        rates.record_service(100.0)
    assert rates.mu == pytest.approx(0.01)
    for _ in range(200):
        rates.record_service(300.0)
    assert rates.mean_handle == pytest.approx(300.0, rel=1e-3)
    for i in range(100):
        rates.record_exit(60.0, abandoned=i % 4 == 0)
    assert rates.theta == pytest.approx(0.25 / 60, rel=0.2)


def test_predict_fallbacks() -> None:
    rates = QueueRates()
    now = predict(ahead=0, servers=2, free_agent=True, rates=rates, head_of_line_wait=None)
    assert now is not None and now.method is Method.IMMEDIATE and now.seconds == 0.0
    assert predict(ahead=0, servers=0, free_agent=False, rates=rates, head_of_line_wait=10.0) is None
    hol = predict(ahead=3, servers=2, free_agent=False, rates=rates, head_of_line_wait=10.0)
    assert hol is not None and hol.method is Method.HOL
    assert predict(ahead=3, servers=2, free_agent=False, rates=rates, head_of_line_wait=None) is None
    for _ in range(10):
        rates.record_service(60.0)
    qlm = predict(ahead=3, servers=2, free_agent=False, rates=rates, head_of_line_wait=None)
    assert qlm is not None and qlm.method is Method.QLM and math.isclose(qlm.seconds, 4 * 30.0)
