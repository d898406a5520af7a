"""The diffusers scheduler that walks a country diffusion model's noise schedule (DDIM, DPM-Solver++, SDE-DPM)."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from diffusers.schedulers.scheduling_utils import SchedulerMixin

    from streetgen.models.country_diffusion import CountryDiffusion

SOLVERS = ("sde-dpm", "dpm", "ddim")


def check_solver(solver: str, steps: int) -> None:
    """ValueError unless `solver` is one of SOLVERS and `steps` lies in 1..1000."""
    if solver not in SOLVERS:
        raise ValueError(f"solver must be 'sde-dpm', 'dpm' or 'ddim', got {solver!r}")
    if not 1 <= int(steps) <= 1000:
        raise ValueError(f"steps must be between 1 and 1000, got {steps!r}")


def make_scheduler(model: CountryDiffusion, solver: str, steps: int) -> SchedulerMixin:
    """A scheduler over `model.noise_schedule()` with `steps` timesteps set: "ddim", "dpm" (DPM-Solver++ 2M) or
    "sde-dpm" (SDE-DPM-Solver++ 2M, which takes fresh noise each step)."""
    from diffusers.schedulers.scheduling_ddim import DDIMScheduler
    from diffusers.schedulers.scheduling_dpmsolver_multistep import (
        DPMSolverMultistepScheduler,
    )

    config = model.noise_schedule().config
    # "leading" spacing starts below t = T, where the shifted schedule's α̅ is ~1e-9 and x0 = (x − σε)/α
    # would blow up in the multistep solvers. (Passed as a keyword: from_config ignores an edited dict.)
    if solver == "ddim":
        sched = DDIMScheduler.from_config(config, timestep_spacing="leading")
    else:
        sched = DPMSolverMultistepScheduler.from_config(
            config, timestep_spacing="leading",
            algorithm_type="sde-dpmsolver++" if solver == "sde-dpm" else "dpmsolver++")
    sched.set_timesteps(int(steps))
    return sched
