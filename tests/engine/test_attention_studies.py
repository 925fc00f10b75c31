"""Attention studies: progress reports, partial curves and the seed's claims at small sizes."""

from __future__ import annotations

import numpy as np
import pytest

from engine.attention.studies import (
    STUDIES,
    EntropyInitCurves,
    EntropyScaleCurves,
    NoiseRobustnessCurves,
    entropy_init_study,
    entropy_scale_study,
    expected_noise_error,
    noise_robustness_study,
)
from engine.progress import Progress


def run(job):
    reports = []
    while True:
        try:
            reports.append(next(job))
        except StopIteration as stop:
            return reports, stop.value


def test_noise_study_partials_grow_and_error_matches_expectation():
    n_values = (8, 64, 512, 2048)
    reports, curves = run(noise_robustness_study(n_values, sigmas=(0.2, 0.4), trials=100, dim=8))
    assert isinstance(curves, NoiseRobustnessCurves)
    assert [r.step for r in reports] == [1, 2, 3, 4] and all(r.total == 4 for r in reports)
    assert [len(r.partial.n_values) for r in reports] == [1, 2, 3, 4]
    assert all(isinstance(r, Progress) for r in reports)
    assert curves.simulated.shape == curves.expected.shape == (2, 4)
    # the error falls as n grows (noise averages out) ...
    assert (np.diff(curves.simulated, axis=1) < 0).all()
    # ... like the first-order expectation once n is large
    np.testing.assert_allclose(curves.simulated[:, 2:], curves.expected[:, 2:], rtol=0.15)
    # more noise, more error
    assert (curves.simulated[1] > curves.simulated[0]).all()
    assert expected_noise_error(400, 0.2) == pytest.approx(np.sqrt(np.expm1(0.04) * np.e / 400))


def test_entropy_with_log_n_scale_stays_flatter():
    n_values = (16, 64, 256, 1024)
    reports, curves = run(entropy_scale_study(n_values, d_values=(16, 32), trials=32))
    assert isinstance(curves, EntropyScaleCurves)
    assert len(reports) == 4 and len(reports[1].partial.n_values) == 2
    assert curves.entropy_sqrt_d.shape == (2, 4)
    log_n = np.log(n_values)
    for row in range(2):
        slope_plain = np.polyfit(log_n, curves.entropy_sqrt_d[row], 1)[0]
        slope_log = np.polyfit(log_n, curves.entropy_log_n[row], 1)[0]
        assert slope_plain > 0.8  # 1/sqrt(d): entropy ≈ log n - 1/2
        assert abs(slope_log) < 0.25 * slope_plain
    assert (curves.entropy_sqrt_d <= curves.max_entropy + 1e-9).all()


def test_entropy_reference_length_makes_scales_agree_there():
    _, curves = run(entropy_scale_study((64, 128), d_values=(16,), trials=16, reference_length=128))
    assert curves.entropy_log_n[0, 1] == pytest.approx(curves.entropy_sqrt_d[0, 1])
    assert curves.entropy_log_n[0, 0] != pytest.approx(curves.entropy_sqrt_d[0, 0])


def test_entropy_at_init_falls_from_uniform_with_scale():
    reports, curves = run(entropy_init_study((0.05, 0.5, 1.0, 2.0, 4.0), n_values=(16, 64), dim=32, trials=4))
    assert isinstance(curves, EntropyInitCurves)
    assert len(reports) == 5
    assert curves.entropy.shape == (2, 5)
    np.testing.assert_allclose(curves.entropy[:, 0], np.log([16, 64]), rtol=1e-3)  # tiny weights: uniform
    assert (np.diff(curves.entropy, axis=1) < 0).all()
    assert (curves.entropy[:, -1] < 0.5).all()  # large weights: nearly one-hot attention


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_default_studies_run_and_export_csv(name):
    _, curves = run(STUDIES[name][0](seed=1))
    csv = curves.to_csv().splitlines()
    header = csv[0].split(",")
    assert len(csv) > 2 and all(len(line.split(",")) == len(header) for line in csv[1:])
    assert curves.title and curves.x_label and curves.y_label
    lines = curves.lines()
    assert len(lines) >= 2 and all(len(line.x) == len(line.y) > 2 for line in lines)
    assert {line.style for line in lines} <= {"solid", "dashed", "dotted"}
