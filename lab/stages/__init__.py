"""The LAB stages: discovery, planner, fetcher, prep, qa, queue, transmitter, curator, nightly."""
