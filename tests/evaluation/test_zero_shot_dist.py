"""The zero-shot loop on a wrapped model over 2 gloo ranks (CPU): mmengine's
MMDistributedDataParallel and MMFullyShardedDataParallel (with the project's FSDP wrap
policy: every transformer block and MAP head its own unit) give the metrics of one
process, every tower call going through the wrapper's test_step."""
import datetime
import os

import pytest
import torch
import torch.distributed as dist
from mmengine.dataset import DefaultSampler, pseudo_collate
from mmengine.evaluator import Evaluator

from fgclip2_mm.evaluation import FGCLIP2ZeroShotHead, evaluate_zero_shot, run_zero_shot_tasks
from fgclip2_mm.registry import DATASETS, METRICS
from fgclip2_mm.utils.build import build_owned
from fgclip2_mm.testing import spawn_and_join
from .conftest import _perturbed_tiny
from .helpers import task_configs

NAMES = ('box_cls', 'fgovd', 'retrieval', 'image_cls')


def _wrap(model, wrapper: str):
    if wrapper == 'ddp':
        from mmengine.model import MMDistributedDataParallel
        return MMDistributedDataParallel(module=model)
    from mmengine.model import MMFullyShardedDataParallel
    from fgclip2_mm.engine.fsdp import fgclip2_fsdp_wrap_policy
    # FSDP refuses 0-dim parameters: the two region scales stay replicated (not sharded).
    scalars = [model.logit_scale_region, model.logit_scale_hardneg]
    return MMFullyShardedDataParallel(module=model, auto_wrap_policy=fgclip2_fsdp_wrap_policy,
                                      use_orig_params=True, device_id=torch.device('cpu'),
                                      ignored_states=scalars)


def _worker(rank, world_size, folder, world, wrapper):
    dist.init_process_group('gloo', init_method=f'file://{folder}/store', rank=rank,
                            world_size=world_size, timeout=datetime.timedelta(seconds=120))
    try:
        torch.set_num_threads(1)
        model = _wrap(_perturbed_tiny(0), wrapper)
        pairs = []
        for cfg in task_configs(world, NAMES):
            dataset = build_owned(cfg['dataset'], DATASETS)
            evaluator = Evaluator([build_owned(cfg['metric'], METRICS)])
            evaluator.dataset_meta = dataset.metainfo
            # 3 per batch: ranks see different images and different text counts.
            loader = torch.utils.data.DataLoader(
                dataset, batch_size=3, sampler=DefaultSampler(dataset, shuffle=False),
                collate_fn=pseudo_collate)
            pairs.append((loader, evaluator))
        head = FGCLIP2ZeroShotHead(world + 'tokenizer', cache_dir=None)
        metrics = run_zero_shot_tasks(model, pairs, head, stage='val')
        torch.save(dict(metrics=metrics, sharded=head.sharded),
                   os.path.join(folder, f'rank{rank}.pt'))
        dist.barrier()  # no rank tears gloo down while the other still has work in flight
    finally:
        dist.destroy_process_group()


@pytest.mark.dist
@pytest.mark.parametrize('wrapper', ['ddp', 'fsdp'])
def test_wrapped_model_over_two_ranks_equals_one_process(wrapper, eval_world, tiny_model,
                                                         tmp_path):
    world = eval_world + '/'
    spawn_and_join(_worker, args=(2, str(tmp_path), world, wrapper), nprocs=2)
    single = evaluate_zero_shot(tiny_model, task_configs(world, NAMES), world + 'tokenizer',
                                cache_dir=None)
    for rank in range(2):
        out = torch.load(tmp_path / f'rank{rank}.pt')
        assert out['sharded'] == (wrapper == 'fsdp')
        assert out['metrics'].keys() == single.keys()
        for key, value in single.items():
            assert out['metrics'][key] == pytest.approx(value, abs=1e-9), (rank, key)
