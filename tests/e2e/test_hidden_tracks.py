"""Hidden people with the real detector and tracker: a grey pillar over the concourse hides people, the
tracker keeps them as lost, and the pipeline keeps them in its results until they are found again."""

from __future__ import annotations

import cv2

from trajpipe import Pipeline

PILLAR = slice(250, 330)  # pixels: where most concourse walkers cross (benchmarks/occlusion.py)


def test_people_behind_a_pillar_stay_in_the_results_not_visible(concourse, detector_weights):
    capture = cv2.VideoCapture(str(concourse))
    seen, hidden, lost_reported = set(), [], set()
    with Pipeline(model=str(detector_weights), classes=["person"], keep_hidden_tracks=True) as pipe:
        for index in range(150):
            ok, image = capture.read()
            assert ok
            image[:, PILLAR] = 128
            result = pipe.process(image, index / 25, index)
            ids = [track.id for track in result.tracks]
            assert len(ids) == len(set(ids))  # re-association's aliases never show one person twice
            lost_reported.update(pipe.detector.lost_track_ids())
            for track in result.tracks:
                if track.visible:
                    seen.add(track.id)
                else:
                    hidden.append((index, track))
    assert hidden, "nobody was hidden behind the pillar"
    for index, track in hidden:
        assert track.id in seen and track.id in lost_reported  # a track the tracker had and lost
        assert 0 < track.hidden_for <= pipe.config.lost_track_ttl
