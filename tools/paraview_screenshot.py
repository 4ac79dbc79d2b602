"""Render a run's output with ParaView, as a user opening it would see it, and save a PNG.

    xvfb-run -a pvpython tools/paraview_screenshot.py RUN_DIR OUT.png [ARRAY]

The left view shows ARRAY (default u) of the solution (vtk/solution.vtu, or the last step of
vtk/solution.pvd); the right view the pointwise error: on the solution mesh where the reference
is analytic, on the reference's own nodes (vtk/solution_reference.vtu) where it is data.
Needs ParaView's Python (Debian: apt-get install paraview xvfb).
"""
import os
import sys

from paraview.simple import (AssignViewToLayout, ColorBy, CreateLayout, CreateView,
                             GetAnimationScene, GetColorTransferFunction, GetScalarBar,
                             OpenDataFile, ResetCamera, SaveScreenshot, Show)


def open_solution(vtk_dir):
    for name in ("solution.pvd", "solution.vtu"):
        path = os.path.join(vtk_dir, name)
        if os.path.exists(path):
            return OpenDataFile(path)
    raise SystemExit(f"no solution.pvd or solution.vtu in {vtk_dir}")


def show(source, view, array, title, preset, symmetric=False):
    display = Show(source, view)
    ColorBy(display, ("POINTS", array))
    lut = GetColorTransferFunction(array)
    lut.ApplyPreset(preset, True)
    lo, hi = source.PointData[array].GetRange()
    if symmetric:  # a diverging map centred on zero error
        lo, hi = -max(abs(lo), abs(hi)), max(abs(lo), abs(hi))
    lut.RescaleTransferFunction(lo, hi)
    bar = GetScalarBar(lut, view)
    bar.Title, bar.ComponentTitle, bar.Visibility = title, "", 1
    bar.TitleFontSize, bar.LabelFontSize = 18, 16
    bar.TitleColor = bar.LabelColor = [0.1, 0.1, 0.1]
    bar.RangeLabelFormat = "%-#6.2g"
    view.UseColorPaletteForBackground = 0
    view.Background = [1.0, 1.0, 1.0]
    view.OrientationAxesVisibility = 0
    view.InteractionMode = "2D"
    ResetCamera(view)


def main(run_dir, out, array="u"):
    vtk_dir = os.path.join(run_dir, "vtk")
    solution = open_solution(vtk_dir)
    scene = GetAnimationScene()
    scene.UpdateAnimationUsingDataTimeSteps()
    scene.AnimationTime = scene.EndTime            # time series: the last output time
    layout = CreateLayout("run")
    left = CreateView("RenderView")
    AssignViewToLayout(view=left, layout=layout, hint=0)
    show(solution, left, array, array, "Viridis (matplotlib)")
    reference = os.path.join(vtk_dir, "solution_reference.vtu")
    errors = OpenDataFile(reference) if os.path.exists(reference) else solution
    layout.SplitHorizontal(0, 0.5)
    right = CreateView("RenderView")
    AssignViewToLayout(view=right, layout=layout, hint=2)
    show(errors, right, f"{array}_error", f"{array} - reference", "Cool to Warm", symmetric=True)
    layout.SetSize(1600, 680)
    SaveScreenshot(out, layout, ImageResolution=[1600, 680])
    print(out)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    main(*sys.argv[1:4])
