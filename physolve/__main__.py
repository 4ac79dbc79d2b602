"""`python -m physolve ...` (what torchrun runs: `torchrun --nproc_per_node=N -m physolve train`)."""
from .cli import main

main()
