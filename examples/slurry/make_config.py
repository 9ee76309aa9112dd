#!/usr/bin/env python3
"""Initial LAMMPS data file of one coarse-grained slurry system.

The model is the one of the shipped campaigns (data/nemd-public, data/nemd-wide-public):
types 1,2,3 are active-material (AM) spheres of diameter d_am*(0.8, 1.0, 1.2) in equal
numbers, type 4 is a carbon-binder (CBD) bead of diameter 1. The AM count (a multiple of 3,
clamped to [27, 120]) is chosen so that about --n-cbd CBD beads give the requested
cbd_ratio = phi_CBD/phi_AM; the cubic box side then follows from phi_am.

Particles are placed by random sequential addition (AM largest first, then CBD) with no
core overlap, so the starting energy is finite. RSA cannot reach phi_am above ~0.35: for
phi_am > 0.32 the particles are placed in a box dilated to phi_am = 0.32 and the input
(in.nemd / in.campaign, variables `box` and `ncomp`) compresses it to the target side
during the rest stage, as the wide campaign did.

Usage (writes slurry.data and slurry.vars, a LAMMPS include file with the parameters):
    python3 make_config.py --chemistry graphite --phi-am 0.46 --seed 7 --out slurry
"""
import argparse
import math
import os
import shlex
import sys

import numpy as np

AM_SCALE = (0.8, 1.0, 1.2)  # AM diameters relative to d_am (types 1, 2, 3)
CBD_TYPE = 4
N_TYPES = 4
N_CBD_TARGET = 550
PHI_RSA_MAX = 0.32  # above this, place at 0.32 and compress in LAMMPS
NCOMP_STEPS = 1000  # compression steps (10 tau at dt = 0.01)

# Per-chemistry ranges of the wide campaign (the defaults of campaign.py); make_config.py
# uses their midpoints for any parameter not given on the command line.
CHEMISTRIES = {
    "NMC": {"d_am": (4.0, 4.8), "cbd_ratio": (0.10, 0.25), "eps_ac": (1.0, 5.0), "eps_cc": (1.0, 5.5)},
    "graphite": {"d_am": (5.2, 6.0), "cbd_ratio": (0.06, 0.15), "eps_ac": (0.5, 3.0), "eps_cc": (1.0, 5.5)},
    "LFP": {"d_am": (3.0, 3.6), "cbd_ratio": (0.15, 0.35), "eps_ac": (1.5, 6.0), "eps_cc": (1.5, 6.0)},
}


def am_diameters(d_am):
    return [s * d_am for s in AM_SCALE]


def system_size(d_am, phi_am, cbd_ratio, n_cbd_target=N_CBD_TARGET):
    """(n_am, n_cbd, box_l): particle numbers and the cubic box side at phi_am."""
    v_am = float(np.mean([math.pi / 6.0 * d**3 for d in am_diameters(d_am)]))
    v_cbd = math.pi / 6.0
    n_am = n_cbd_target * v_cbd / (cbd_ratio * v_am)
    n_am = max(27, min(3 * int(round(n_am / 3.0)), 120))
    vol = n_am * v_am / phi_am
    n_cbd = int(round(cbd_ratio * phi_am * vol / v_cbd))
    return n_am, n_cbd, vol ** (1.0 / 3.0)


def _wrap(d, side):
    """Minimum-image separation vectors in a cubic periodic box."""
    return d - side * np.round(d / side)


def place(n_am, n_cbd, d_am, side, rng, max_tries=400000):
    """Random sequential addition; returns (positions (N,3), types (N,))."""
    n = n_am + n_cbd
    pos = np.empty((n, 3))
    typ = np.empty(n, dtype=int)
    diam = np.empty(n)
    ds = am_diameters(d_am)
    # equal numbers of the three sizes, largest first (they are the hardest to place)
    am_types = np.sort(np.array([i % 3 + 1 for i in range(n_am)]))[::-1]
    k = 0
    tries = 0
    while k < n_am:
        tries += 1
        if tries > max_tries:
            raise RuntimeError(f"AM insertion failed after {max_tries} tries (phi_am too high for RSA?)")
        t = am_types[k]
        p = rng.random(3) * side
        if k:
            d = _wrap(pos[:k] - p, side)
            contact = 0.5 * (diam[:k] + ds[t - 1])
            if np.any(np.einsum("ij,ij->i", d, d) < contact * contact):
                continue
        pos[k], typ[k], diam[k] = p, t, ds[t - 1]
        k += 1
    am = pos[:n_am].copy()
    contact_am2 = (0.5 * (diam[:n_am] + 1.0)) ** 2
    tries = 0
    while k < n:
        tries += 1
        if tries > 10 * max_tries:
            raise RuntimeError(f"CBD insertion failed after {10 * max_tries} tries")
        p = rng.random(3) * side
        d = _wrap(am - p, side)
        if np.any(np.einsum("ij,ij->i", d, d) < contact_am2):
            continue
        if k > n_am:
            d = _wrap(pos[n_am:k] - p, side)
            if np.min(np.einsum("ij,ij->i", d, d)) < 1.0:
                continue
        pos[k], typ[k], diam[k] = p, CBD_TYPE, 1.0
        k += 1
    return pos, typ


def write_data(path, pos, typ, side, comment):
    """LAMMPS data file, triclinic with zero tilt so that `fix deform xy` can shear it."""
    with open(path, "w") as f:
        f.write(f"# {comment}\n\n{len(typ)} atoms\n{N_TYPES} atom types\n\n")
        f.write(f"0.0 {side:.10f} xlo xhi\n0.0 {side:.10f} ylo yhi\n")
        f.write(f"0.0 {side:.10f} zlo zhi\n0.0 0.0 0.0 xy xz yz\n\n")
        f.write("Atoms # atomic\n\n")
        for i, (x, y, z) in enumerate(pos):
            f.write(f"{i + 1} {typ[i]} {x:.6f} {y:.6f} {z:.6f}\n")


def build(data_path, d_am, phi_am, cbd_ratio, seed, n_cbd_target=N_CBD_TARGET, chemistry="custom"):
    """Write the data file of one system; return its derived quantities.

    box_l is the side the run shears at; when ncomp > 0 the data file holds a box of
    side box_rsa > box_l that the input compresses to box_l over ncomp steps.
    """
    n_am, n_cbd, box_l = system_size(d_am, phi_am, cbd_ratio, n_cbd_target)
    if phi_am > PHI_RSA_MAX:
        box_rsa = box_l * (phi_am / PHI_RSA_MAX) ** (1.0 / 3.0)
        ncomp = NCOMP_STEPS
    else:
        box_rsa, ncomp = box_l, 0
    rng = np.random.default_rng(seed)
    pos, typ = place(n_am, n_cbd, d_am, box_rsa, rng)
    comment = (
        f"slurry {chemistry}: d_am {d_am} phi_am {phi_am} cbd_ratio {cbd_ratio} seed {seed}; "
        f"n_am {n_am} n_cbd {n_cbd} box_l {box_l:.6f} ncomp {ncomp}"
    )
    write_data(data_path, pos, typ, box_rsa, comment)
    return {
        "n_am": n_am,
        "n_cbd": n_cbd,
        "box_l": box_l,
        "box_rsa": box_rsa,
        "ncomp": ncomp,
        "phi_cbd": n_cbd * math.pi / 6.0 / box_l**3,
    }


def skin_for(rate, box_l):
    """Neighbour skin: larger when the box top moves >= 2 sigma per tau (as the campaigns)."""
    return 1.0 if rate * box_l >= 2.0 else 0.6


def write_vars(path, values, argv):
    """LAMMPS include file; `index` variables so that -var on the command line wins."""
    with open(path, "w") as f:
        f.write("# slurry system parameters, written by:\n")
        f.write(f"#   make_config.py {shlex.join(argv)}\n")
        for key, val in values.items():
            f.write(f"variable {key:<10s} index {val}\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chemistry", choices=sorted(CHEMISTRIES), default="NMC",
                    help="label; sets the defaults of d_am, cbd_ratio, eps_ac, eps_cc (range midpoints)")
    ap.add_argument("--d-am", type=float, help="middle AM diameter (sigma)")
    ap.add_argument("--phi-am", type=float, required=True, help="AM volume fraction (0.10-0.48 in the campaigns)")
    ap.add_argument("--cbd-ratio", type=float, help="phi_CBD / phi_AM")
    ap.add_argument("--eps-ac", type=float, help="AM-CBD well depth (epsilon)")
    ap.add_argument("--eps-cc", type=float, help="CBD-CBD well depth (epsilon)")
    ap.add_argument("--temp", type=float, default=1.0, help="temperature (epsilon/k_B)")
    ap.add_argument("--seed", type=int, required=True, help="seed of the placement (and of LAMMPS' velocities/noise)")
    ap.add_argument("--n-cbd", type=int, default=N_CBD_TARGET, help="target number of CBD beads")
    ap.add_argument("--out", required=True, help="output prefix: writes PREFIX.data and PREFIX.vars")
    ap.add_argument("--rates", type=float, nargs="+",
                    help="shear rates to run this system at (in.campaign loops over them; "
                         "in.nemd takes the first unless -var rate is given)")
    ap.add_argument("--data-ref", help="how PREFIX.vars names the data file [its absolute path]; "
                    "e.g. '${here}/demo.data' for a file that moves with the inputs")
    args = ap.parse_args(argv)

    mid = {k: round(0.5 * (lo + hi), 4) for k, (lo, hi) in CHEMISTRIES[args.chemistry].items()}
    d_am = args.d_am if args.d_am is not None else mid["d_am"]
    cbd_ratio = args.cbd_ratio if args.cbd_ratio is not None else mid["cbd_ratio"]
    eps_ac = args.eps_ac if args.eps_ac is not None else mid["eps_ac"]
    eps_cc = args.eps_cc if args.eps_cc is not None else mid["eps_cc"]
    if not 0.0 < args.phi_am < 0.6:
        ap.error("--phi-am must be in (0, 0.6)")

    data_path = os.path.abspath(args.out + ".data")
    info = build(data_path, d_am, args.phi_am, cbd_ratio, args.seed, args.n_cbd, args.chemistry)
    values = {
        "data": args.data_ref or data_path,
        "d_am": d_am,
        "eps_ac": eps_ac,
        "eps_cc": eps_cc,
        "temp": args.temp,
        "seed": args.seed,
        "box": f"{info['box_l']:.10f}",
        "ncomp": info["ncomp"],
    }
    if args.rates:
        values["rate"] = " ".join(f"{r:g}" for r in args.rates)
    write_vars(args.out + ".vars", values, sys.argv[1:] if argv is None else argv)
    print(f"{args.out}.data: {args.chemistry} d_am {d_am} phi_am {args.phi_am} cbd_ratio {cbd_ratio} "
          f"-> n_am {info['n_am']} n_cbd {info['n_cbd']} box_l {info['box_l']:.4f} "
          f"phi_cbd {info['phi_cbd']:.5f} ncomp {info['ncomp']}"
          + (f" (placed at phi_am {PHI_RSA_MAX}, box {info['box_rsa']:.4f})" if info["ncomp"] else ""))
    print(f"{args.out}.vars: eps_ac {eps_ac} eps_cc {eps_cc} temp {args.temp} seed {args.seed}"
          + (f" rates {values['rate']}" if args.rates else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
