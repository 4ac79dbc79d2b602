"""Render a run's output with ParaView, as a user opening it would see it, and save a PNG.

    xvfb-run -a pvpython tools/paraview_screenshot.py RUN_DIR OUT.png [ARRAY]

The left view shows ARRAY (default u) of the solution, the right view the pointwise error. What
is shown is chosen by `choose_files` (plain Python, testable without ParaView): a run with one
space dimension and time shows its x-t plane (vtk/solution_xt.vtu) as a colour map -- its last
time slice alone would be a thin line --; other runs show vtk/solution.vtu, or the last step of
vtk/solution.pvd. The error is taken from the same file where the reference is analytic, from
the reference's own nodes (vtk/solution_reference.vtu) where it is data.
Needs ParaView's Python (Debian: apt-get install paraview xvfb).
"""
import os
import sys


def choose_files(vtk_dir):
    """What to show from a run's vtk/ directory: {"solution": path, "errors": path,
    "time_series": whether the solution is a PVD series (shown at its last time), "plane":
    the axis titles of an x-t plane, or None}."""
    def path(name):
        full = os.path.join(vtk_dir, name)
        return full if os.path.exists(full) else None

    reference = path("solution_reference.vtu")
    plane = path("solution_xt.vtu")
    if plane:  # 1-D in space and time-dependent: the x-t plane is the picture
        return {"solution": plane, "errors": reference or plane, "time_series": False,
                "plane": ("x", "t")}
    for name, series in (("solution.pvd", True), ("solution.vtu", False)):
        if path(name):
            return {"solution": path(name), "errors": reference or path(name),
                    "time_series": series, "plane": None}
    raise SystemExit(f"no solution_xt.vtu, solution.pvd or solution.vtu in {vtk_dir}")


def show(source, view, array, title, preset, symmetric=False, axes=None):
    from paraview.simple import ColorBy, GetColorTransferFunction, GetScalarBar, Show

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
    if axes is not None:  # an x-t plane: say which axis is time
        grid = display.DataAxesGrid
        grid.GridAxesVisibility = 1
        grid.XTitle, grid.YTitle = axes
        grid.XTitleFontSize = grid.YTitleFontSize = 18
        grid.XLabelFontSize = grid.YLabelFontSize = 14
        grid.GridColor = grid.XTitleColor = grid.YTitleColor = [0.1, 0.1, 0.1]
        grid.XLabelColor = grid.YLabelColor = [0.1, 0.1, 0.1]
        grid.AxesToLabel = 3  # the lower x and y edges only (ParaView labels all four)
        grid.FacesToRender = 4  # the z-min face: the plane itself
        bar.WindowLocation = "Any Location"  # beside the plane, not over it
        bar.Position = [0.89, 0.25]


def main(run_dir, out, array="u"):
    from paraview.simple import (AssignViewToLayout, CreateLayout, CreateView,
                                 GetAnimationScene, OpenDataFile, ResetCamera,
                                 SaveScreenshot)

    files = choose_files(os.path.join(run_dir, "vtk"))
    solution = OpenDataFile(files["solution"])
    if files["time_series"]:
        scene = GetAnimationScene()
        scene.UpdateAnimationUsingDataTimeSteps()
        scene.AnimationTime = scene.EndTime        # time series: the last output time
    errors = solution if files["errors"] == files["solution"] else OpenDataFile(files["errors"])
    layout = CreateLayout("run")
    left = CreateView("RenderView")
    AssignViewToLayout(view=left, layout=layout, hint=0)
    show(solution, left, array, array, "Viridis (matplotlib)", axes=files["plane"])
    layout.SplitHorizontal(0, 0.5)
    right = CreateView("RenderView")
    AssignViewToLayout(view=right, layout=layout, hint=2)
    show(errors, right, f"{array}_error", f"{array} - reference", "Cool to Warm",
         symmetric=True, axes=files["plane"])
    layout.SetSize(1600, 680)
    for view in (left, right):  # with the views at their final size, so that both fit alike
        ResetCamera(view)
        if files["plane"]:
            view.CameraParallelScale *= 1.15  # room for the axis titles
    SaveScreenshot(out, layout, ImageResolution=[1600, 680])
    print(out)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    main(*sys.argv[1:4])
