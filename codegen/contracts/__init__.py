"""Contract gates: the linter of ``contracts/``."""

from codegen.contracts.lint import RULES, LintProblem, lint_contracts

__all__ = ["LintProblem", "RULES", "lint_contracts"]
