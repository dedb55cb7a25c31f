"""Narrative order of the gallery (sphinx-gallery ``within_subsection_order``)."""

from __future__ import annotations

import os

#: Filenames in reading order: the Filippov phenomena first, then the optimizers.
ORDER = (
    "plot_slope_switching_sliding.py",
    "plot_arrival_time_map.py",
    "plot_tie_convexification.py",
    "plot_codim2_sliding_3d.py",
    "plot_twisting_zeno.py",
    "plot_coulomb_friction.py",
    "plot_piecewise_stick_slip.py",
    "plot_discrete_tracking.py",
    "plot_signgd_variants.py",
    "plot_active_face.py",
    "plot_freeze_vs_sliding_track.py",
    "plot_breast_cancer.py",
    "plot_jax_model.py",
    "plot_sign_vs_gd_geometry.py",
    "plot_adam_signum_mlp.py",
    "plot_paper_claims.py",
)


class NarrativeOrder:
    """Sort key: position in :data:`ORDER`, unknown files last in alphabetical order."""

    def __init__(self, src_dir: str) -> None:
        self.src_dir = src_dir

    def __call__(self, filename: str) -> tuple[int, str]:
        name = os.path.basename(filename)
        return (ORDER.index(name) if name in ORDER else len(ORDER), name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
