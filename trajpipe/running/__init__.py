"""Running a pipeline over sources, as a library: the run loop (:mod:`.loop`, video in, results to the
sinks, a display passed in as a callback) and many videos at once (:mod:`.batch`). The command line
(:mod:`trajpipe.app`), evaluation and the benchmarks sit on top of it."""
