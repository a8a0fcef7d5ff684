"""Annotators draw what they say, in the order an Overlay gives them."""

import numpy as np

from trajpipe.config import Config
from trajpipe.core.results import Forecast, FrameResult, TrackState
from trajpipe.draw import Boxes, Forecasts, Hud, ModePaths, Overlay, SigmaRings, Trails, track_colour


def test_overlay_draws_box_trail_forecast_end_marker_and_hud():
    from trajpipe.draw.annotators import FORECAST_NEAR

    image = np.full((200, 300, 3), 128, np.uint8)
    forecast = Forecast(0.4 * np.arange(1, 13), np.stack([np.linspace(110, 220, 12), np.full(12, 150.0)], 1))
    history = np.stack([np.linspace(40, 100, 7), np.full(7, 150.0)], 1)
    track = TrackState(5, 0, "person", 0.9, np.array([90.0, 100, 110, 140]), history, np.linspace(0.6, 1.2, 7), forecast)
    overlay = Overlay.from_config(Config(trail_seconds=1.0), hud_lines=lambda result: ["frame 30", "25.0 FPS"])
    overlay.draw(image, FrameResult(30, 1.2, [track]))

    def near(pixel, colour):  # anti-aliased lines blend a little with the background
        return np.abs(pixel.astype(int) - np.array(colour)).max() <= 12

    assert near(image[150, 60], track_colour(5))  # trail
    assert near(image[150, 105], FORECAST_NEAR)  # forecast starts bright
    assert image[150, 220].tolist() != [128, 128, 128]  # end marker
    assert near(image[125, 90], track_colour(5))  # box edge
    assert image[30, 2].max() < 128  # HUD panel darkens the corner


def test_overlay_draws_every_mode_the_most_likely_boldest():
    from trajpipe.core.results import ModeSet

    image = np.full((300, 300, 3), 128, np.uint8)
    t = 0.4 * np.arange(1, 13)
    straight = np.stack([np.linspace(110, 220, 12), np.full(12, 150.0)], 1)
    bend = np.stack([np.zeros(12), np.linspace(5, 100, 12)], 1)
    left, right = straight - bend, straight + bend
    modes = ModeSet(np.stack([straight, left, right]), np.array([0.6, 0.3, 0.1]))
    track = TrackState(5, 0, "person", 0.9, np.array([90.0, 100, 110, 150]), np.array([[100.0, 150.0]]),
                       np.array([1.2]), Forecast(t, straight, modes=modes))
    Overlay([ModePaths(), SigmaRings(), Forecasts()]).draw(image, FrameResult(30, 1.2, [track]))
    drawn = np.abs(image.astype(int) - 128).max(-1) > 20
    width = [drawn[120:180, x].sum() for x in (150, 160)]  # the top mode: a thick line through y = 150
    assert min(width) >= 2
    assert drawn[:140, 200:230].any() and drawn[160:, 200:230].any()  # both alternatives drawn
    strength = lambda ys: np.abs(image[ys, 200:215].astype(int) - 128).sum(-1).max()  # noqa: E731
    assert strength(slice(60, 110)) > strength(slice(190, 240)) > 0  # p = 0.3 more opaque than p = 0.1


def walker(track_id=5):
    history = np.stack([np.linspace(40, 100, 7), np.full(7, 150.0)], 1)
    forecast = Forecast(0.4 * np.arange(1, 13), np.stack([np.linspace(110, 220, 12), np.full(12, 150.0)], 1),
                        sigma=np.full((12, 2), 8.0))
    return TrackState(track_id, 0, "person", 0.9, np.array([90.0, 100, 110, 150]), history, np.linspace(0.6, 1.2, 7),
                      forecast)


def test_each_annotator_draws_only_its_own_layer():
    result = FrameResult(30, 1.2, [walker()])
    drawn = {}
    for annotator in (Boxes(), Trails(seconds=1.0), Forecasts(), SigmaRings(), ModePaths(), Hud()):
        image = np.full((200, 300, 3), 128, np.uint8)
        assert annotator.annotate(image, result) is image
        drawn[type(annotator).__name__] = np.abs(image.astype(int) - 128).max(-1) > 20
    assert drawn["Boxes"][100:151, 90].any() and not drawn["Boxes"][150, 150:230].any()
    assert drawn["Trails"][150, 50:95].all() and not drawn["Trails"][150, 150:200].any()
    assert drawn["Forecasts"][150, 120:210].all() and not drawn["Forecasts"][120:150, 90].any()
    assert drawn["SigmaRings"][142, 215:225].any() and not drawn["SigmaRings"][150, 120:200].any()
    assert not drawn["ModePaths"].any()  # a forecast without modes has no alternatives
    assert drawn["Hud"][:20, :60].any() and not drawn["Hud"][100:, :].any()


def test_overlay_draws_in_the_order_given():
    result = FrameResult(30, 1.2, [walker()])
    trail_on_top = Overlay([Boxes(), Trails(seconds=1.0)]).draw(np.full((200, 300, 3), 128, np.uint8), result)
    box_on_top = Overlay([Trails(seconds=1.0), Boxes()]).draw(np.full((200, 300, 3), 128, np.uint8), result)
    # the box's left edge (x = 90) crosses the trail (y = 150): whoever comes last is seen there
    assert np.abs(trail_on_top[150, 90].astype(int) - track_colour(5)).max() <= 30
    assert not np.array_equal(trail_on_top[148:153, 88:93], box_on_top[148:153, 88:93])


def test_default_overlay_follows_the_config():
    names = [type(a).__name__ for a in Overlay.from_config(Config()).annotators]
    assert names == ["Trails", "ModePaths", "SigmaRings", "Forecasts", "Boxes", "Hud"]
    bare = Config(trail_seconds=0.0, draw_boxes=False, draw_hud=False, draw_uncertainty=False)
    assert [type(a).__name__ for a in Overlay.from_config(bare).annotators] == ["ModePaths", "Forecasts"]


def test_a_user_annotator_joins_the_overlay():
    class Crosshair:
        def annotate(self, image, result):
            image[100, :] = 255
            return image

    image = Overlay([Forecasts(), Crosshair()]).draw(np.zeros((200, 300, 3), np.uint8), FrameResult(1, 0.0, [walker()]))
    assert (image[100] == 255).all()
