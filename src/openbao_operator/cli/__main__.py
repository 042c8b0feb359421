"""`python -m openbao_operator.cli` runs the command line (same as the `openbao-operator` script)."""

from .main import main

main()
