"""The benchmark harness behind `huimin bench` and `make bench`: measurements, never pass/fail tests.

It lives in the installed package (not under tests/) so that the `huimin` console script can run
it from any directory. Optional dependencies (progress bars, the eventsourcing peer, py-spy) come
from the `bench` extra; without them the harness still runs and says what it skipped.
"""
