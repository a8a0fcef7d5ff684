"""Training, evaluation and export of forecasters (``trajpipe train``, ``eval``, ``export``): may
import everything in trajpipe; nothing outside it imports it except the command line."""
