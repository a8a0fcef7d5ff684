"""Scene adaptation (adapt_to_scene): a forecaster that is wrong on this scene in a way constant velocity
is not learns, from its own finished forecasts only, to lean on CV; off, nothing changes."""

from __future__ import annotations

import numpy as np

from trajpipe.forecast.base import Forecaster
from trajpipe.forecast.cv import ConstantVelocityForecaster

SPEED = 1.3  # m/s


class Veering(ConstantVelocityForecaster):
    """Constant velocity plus a sideways drift of 0.3 m per step: a model that expects a turn nobody here makes."""

    name = "veering"

    def predict_with_sigma(self, obs, dt=None, scale=None, groups=None):
        mean, _ = super().predict_with_sigma(obs, dt, scale, groups)
        mean = mean + np.stack([np.zeros(self.pred_steps), 0.3 * np.arange(1, self.pred_steps + 1)], -1)[None]
        return mean.astype(np.float32), np.full(mean.shape, 0.2, np.float32)


def walk(forecaster: Forecaster, seconds: float, people: int = 6, fps: float = 10.0):
    """People walking straight lines (CV is exact); every frame fed, forecast; yields (t, forecasts, truth)."""
    starts = np.stack([np.zeros(people), 2.0 * np.arange(people)], -1)
    for step in range(int(seconds * fps)):
        t = step / fps
        for i in range(people):
            forecaster.update(i, t, starts[i] + [SPEED * t, 0.0])
        yield t, forecaster.forecast_all(now=t), lambda i, at: starts[i] + [SPEED * at, 0.0]


def final_error(forecasts: dict, truth, t: float) -> float:
    return float(np.mean([np.linalg.norm(f.points[-1] - truth(i, t + f.times[-1])) for i, f in forecasts.items()]))


def test_a_forecaster_wrong_on_this_scene_leans_on_constant_velocity_once_it_has_seen_its_errors():
    adapting, plain = Veering(), Veering()  # on by default
    plain.adapt_to_scene(False)
    assert adapting.adaptation is not None and not adapting.adaptation.adapted
    assert plain.adaptation is None
    errors = []
    for (t, ours, truth), (_, theirs, _) in zip(walk(adapting, 60.0), walk(plain, 60.0)):
        if not adapting.adaptation.adapted:
            for i in ours:  # before enough windows are finished: the shipped forecast, unchanged
                np.testing.assert_array_equal(ours[i].points, theirs[i].points)
        errors.append((final_error(ours, truth, t), final_error(theirs, truth, t)) if ours else (0.0, 0.0))
    state = adapting.adaptation
    assert state.adapted and state.windows >= 50
    assert state.shrink[-1] < 0.35  # mostly CV at 4.8 s: the drift is this model's, not the scene's
    assert 0.5 <= state.sigma_scale[-1] < 1.0  # leaning on CV, it errs less than its sigma said (bounded)
    ours, theirs = np.array(errors[-50:]).mean(0)
    assert ours < 0.4 * theirs


def test_windows_are_scored_only_once_their_future_is_past():
    forecaster = Veering()
    adapter = forecaster._store.adapter
    seen = [(t, adapter.finished) for t, _, _ in walk(forecaster, 9.0)]
    first = min(t for t, n in seen if n)
    # the first forecast kept is made from a full input window (8 steps: 2.8 s seen) and is finished
    # 4.8 s later, not before
    assert abs(first - (2.8 + 4.8)) < 0.15


def test_adaptation_is_on_by_default_for_the_stateful_forecaster_and_the_pipeline():
    from trajpipe.config import Config
    from trajpipe.forecast.adapt import ADAPT_BY_DEFAULT

    assert ADAPT_BY_DEFAULT and Config().adapt_to_scene
    assert Forecaster.load("cv").adaptation is not None and Veering().adaptation is not None
    assert Forecaster.load("cv", adapt_to_scene=False).adaptation is None
    forecaster = Veering()
    forecaster.adapt_to_scene(False)
    assert forecaster.adaptation is None
    forecaster.adapt_to_scene()
    assert forecaster.adaptation is not None and forecaster.adaptation.windows == 0


def test_the_pipeline_reports_the_adaptation_only_when_it_is_on():
    from trajpipe import Pipeline
    from trajpipe.draw.annotators import default_hud_lines

    from test_hidden import FPS, FRAME, OccludedWalkers  # this directory is on the path (rootdir-relative imports)

    def last(**keys):
        pipe = Pipeline(detector=OccludedWalkers(), forecaster="cv", camera_motion="none", **keys)
        return [pipe.process(FRAME, step / FPS) for step in range(30)][-1]

    on, off = last(), last(adapt_to_scene=False)
    assert on.to_json()["adaptation"] == {"adapted": False, "windows": 0, "shrink": [1.0] * 12, "sigma_scale": [1.0] * 12}
    assert "adaptation" not in off.to_json()
    assert default_hud_lines(on)[-1].startswith("scene: adapting") and len(default_hud_lines(off)) == 2
