from __future__ import annotations

import math
import random

import pytest

from ivr.acd.ewt import (
    MAX_OVERTAKE_FACTOR,
    Method,
    Priors,
    QueueRates,
    overtake_factor,
    predict,
    ql_m,
    ql_m_moments,
)


def test_ql_m_formula() -> None:
    # n ahead, s servers: sum_{i=0..n} 1/(s*mu + i*theta)
    assert ql_m(0, 1, 1 / 60, 0.0) == pytest.approx(60.0)
    assert ql_m(2, 2, 0.01, 0.005) == pytest.approx(1 / 0.02 + 1 / 0.025 + 1 / 0.03)
    with pytest.raises(ValueError):
        ql_m(1, 0, 0.01, 0.0)


def test_moments_and_callbacks_ahead() -> None:
    mean, variance = ql_m_moments(1, 1, 0.01, 0.0)
    assert mean == pytest.approx(200.0) and variance == pytest.approx(2 * 100.0**2)
    # callbacks ahead never hang up: with only half the line able to abandon, the wait is longer
    assert ql_m_moments(10, 2, 0.01, 0.01, abandoning_share=0.5)[0] > ql_m_moments(10, 2, 0.01, 0.01)[0]
    assert ql_m_moments(10, 2, 0.01, 0.01, abandoning_share=0.0)[0] == pytest.approx(ql_m(10, 2, 0.01, 0.0))


def test_abandonment_shortens_the_wait() -> None:
    assert ql_m(10, 3, 1 / 200, 1 / 100) < ql_m(10, 3, 1 / 200, 0.0)


def test_cold_rates_are_the_priors_and_history_takes_over() -> None:
    rates = QueueRates(priors=Priors(handle_seconds=240.0, patience_seconds=600.0, weight=10))
    assert rates.mean_handle == pytest.approx(240.0) and rates.theta == pytest.approx(1 / 600)
    for _ in range(2000):
        rates.record_service(100.0)
    assert rates.mean_handle == pytest.approx(100.0, rel=0.05)  # the prior weighs 10 of ~500
    for i in range(2000):
        rates.record_exit(60.0, abandoned=i % 4 == 0)
    assert rates.theta == pytest.approx(0.25 / 60, rel=0.12)  # 10 prior abandons over 6000 s still count


def test_mu_is_low_noise() -> None:
    # exponential handle times with mean 180 s: the estimate stays within 10% after a few hundred
    rng = random.Random(3)
    rates = QueueRates()
    worst = 0.0
    for i in range(3000):
        rates.record_service(rng.expovariate(1 / 180))
        if i > 1000:
            worst = max(worst, abs(rates.mean_handle / 180 - 1))
    assert worst < 0.15


def test_never_zero_with_callers_ahead_and_no_free_agent() -> None:
    rates = QueueRates()  # nothing learnt at all: a cold start
    for ahead in (0, 1, 4, 22):
        p = predict(ahead=ahead, servers=1, free_agent=False, rates=rates)
        assert p is not None and p.seconds > 0 and p.method is Method.QLM
    # the 23rd caller in line with one 180 s agent: about 23 handle times, never "0 s"
    p23 = predict(ahead=22, servers=1, free_agent=False, rates=rates)
    assert p23 is not None and p23.seconds == pytest.approx(23 * 180.0)


def test_head_of_line_is_never_the_answer_with_others_ahead() -> None:
    rates = QueueRates()
    rates.record_entered_service(0.0)  # the last entrant waited 0 s: LES would say 0
    p = predict(ahead=4, servers=2, free_agent=False, rates=rates)
    assert p is not None and p.method is Method.QLM
    assert p.seconds == pytest.approx(5 * 90.0)
    assert p.spread > 0


def test_free_agent_and_nobody_staffed() -> None:
    rates = QueueRates()
    now = predict(ahead=0, servers=2, free_agent=True, rates=rates)
    assert now is not None and now.method is Method.IMMEDIATE and now.seconds == 0.0
    assert predict(ahead=3, servers=0, free_agent=False, rates=rates) is None


def test_priority_overtaking_stretches_a_low_priority_wait() -> None:
    rates = QueueRates(priors=Priors(handle_seconds=100.0))
    # high-priority (1) callers arrive every 200 s for an hour: 0.005/s against 2 agents x 0.01/s
    for k in range(19):
        rates.record_arrival(200.0 * k, 1)
        rates.record_arrival(200.0 * k + 50, 0)
    now = 3600.0
    assert rates.overtaking_rate(0, now) == pytest.approx(0.005, rel=0.1)
    assert rates.overtaking_rate(1, now) == 0.0
    low = predict(ahead=3, servers=2, free_agent=False, rates=rates, priority=0, now=now)
    high = predict(ahead=3, servers=2, free_agent=False, rates=rates, priority=1, now=now)
    assert low is not None and high is not None
    assert high.method is Method.QLM and high.seconds == pytest.approx(4 * 50.0)
    assert low.method is Method.QLM_PRIORITY
    assert low.seconds == pytest.approx(high.seconds / (1 - 0.25), rel=0.1)  # load of overtakers 0.25


def test_overtake_factor_is_bounded() -> None:
    assert overtake_factor(0.0, 3, 0.01) == 1.0
    assert overtake_factor(0.015, 3, 0.01) == pytest.approx(2.0)
    assert overtake_factor(1.0, 3, 0.01) == MAX_OVERTAKE_FACTOR
    assert math.isfinite(overtake_factor(0.0299999, 3, 0.01))


def test_the_learnt_correction_follows_what_actually_happened() -> None:
    rates = QueueRates()
    before = predict(ahead=3, servers=2, free_agent=False, rates=rates)
    assert before is not None and before.model_seconds == before.seconds  # nothing learnt: the model
    for _ in range(2000):  # answered callers with 3 ahead waited half what the model said
        rates.correction.learn(3, 2, before.seconds, before.seconds / 2)
    after = predict(ahead=3, servers=2, free_agent=False, rates=rates)
    assert after is not None and after.model_seconds == pytest.approx(before.seconds)
    assert after.seconds == pytest.approx(before.seconds / 2, rel=0.1)
    other = predict(ahead=40, servers=2, free_agent=False, rates=rates)  # another bucket: untouched
    assert other is not None and other.seconds == other.model_seconds
    for _ in range(2000):  # a wild bucket cannot more than halve or double the model
        rates.correction.learn(40, 2, 10.0, 1000.0)
    wild = predict(ahead=40, servers=2, free_agent=False, rates=rates)
    assert wild is not None and wild.model_seconds is not None
    assert wild.seconds == pytest.approx(2 * wild.model_seconds)


def test_a_busy_queue_averages_more_services_than_a_quiet_one() -> None:
    busy, quiet = QueueRates(), QueueRates()
    for i in range(3000):  # 100 agents: a service ends every 3 s; then every 300 s
        busy.record_service(100.0 if i < 1500 else 300.0, now=3.0 * i)
        quiet.record_service(100.0 if i < 1500 else 300.0, now=300.0 * i)
    # the quiet queue has forgotten the old 100 s; the busy one still averages over three hours
    assert quiet.mean_handle == pytest.approx(300.0, rel=0.05)
    assert 150.0 < busy.mean_handle < 290.0
