"""Run under torch.distributed.run: a short fit checkpointed by rank 0 every 2 steps.
argv: OUT DIE_STEP RESUME. Rank 1 exits abruptly after step DIE_STEP (-1: never)."""
import os
import sys

import torch

import physolve as ps
from physolve.train import distributed
from physolve.train.callbacks import Callback
from physolve.train.checkpoint import Checkpoint, load_checkpoint

out, die_step, resume = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
torch.set_num_threads(1)


class Die(Callback):
    def on_step_end(self, state):
        if int(os.environ["RANK"]) == 1 and state.step == die_step:
            os._exit(3)


ckpt = f"{out}/checkpoint.pt"
callbacks = [Die()]
if int(os.environ["RANK"]) == 0:
    callbacks.append(Checkpoint(ckpt, every=2, every_s=0))
s = ps.PINN(width=8, depth=2, n_interior=32)
ps.Trainer(["adam:8", "lbfgs:4"], dtype="float64", seed=0, progress=False, metrics_every=0,
           threads=None, callbacks=callbacks).fit(
    ps.problems.get("burgers")(hard=True), s,
    resume=load_checkpoint(ckpt) if resume else None)
if distributed.is_main():
    torch.save([p.detach() for p in s.parameters()], f"{out}/final.pt")
distributed.shutdown()
