"""trajpipe's version, in a module of its own: the package's face, the command line, the MCAP writer and
the checkpoints it writes all read it from here (and the build, see pyproject.toml)."""

__version__ = "0.1.0"
