"""Contract gates: the linter of ``contracts/``."""

from codegen.contracts.lint import lint_contracts
from codegen.contracts.problems import RULES, LintProblem

__all__ = ["LintProblem", "RULES", "lint_contracts"]
