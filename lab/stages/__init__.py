"""The LAB stages: discovery, planner, fetcher, prep, qa, queue, transmitter, curator, nightly.

Each stage is its own module with typed inputs and outputs (``lab.stages.types``);
import what you need from the stage's module.
"""

__all__: list[str] = []
