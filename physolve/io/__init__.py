"""Output: VTK files, plots, run directories."""
