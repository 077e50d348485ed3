"""The LAB store: its tables and the units of work over them."""
