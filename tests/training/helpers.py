"""Hand-made pretraining batches for the tiny model (no pipeline, no files)."""
import torch

from fgclip2_mm.models import FGCLIP2

LOSSES = dict(
    sigmoid=dict(type='FGCLIP2SigmoidLoss'),
    region=dict(type='FGCLIP2RegionContrastiveLoss', loss_weight=0.2),
    tic=dict(type='FGCLIP2TICLoss', loss_weight=0.1),
    hard_negative=dict(type='FGCLIP2HardNegativeLoss', loss_weight=0.5))
SHAPES = [[3, 5], [4, 4], [2, 6], [5, 3]]


def tiny_model(seed: int = 0, **kwargs) -> FGCLIP2:
    torch.manual_seed(seed)
    kwargs.setdefault('losses', LOSSES)
    return FGCLIP2(arch='tiny', **kwargs)


def batch(shapes=SHAPES, k: int = 3, seed: int = 0, regions: bool = True) -> dict:
    """Inputs as the preprocessor makes them: B images, K region slots, 11 texts per slot.

    Slot validity varies per image (image 1 has no box at all) unless ``regions`` is
    False (every slot invalid: a Chinese batch without boxes).
    """
    gen = torch.Generator().manual_seed(seed)
    b = len(shapes)
    spatial = torch.tensor(shapes)
    n = int(spatial.prod(-1).max())
    mask = (torch.arange(n)[None] < spatial.prod(-1, keepdim=True)).int()
    lo = torch.rand(b, k, 2, generator=gen) * 0.5
    boxes = torch.cat([lo, lo + 0.2 + 0.3 * torch.rand(b, k, 2, generator=gen)], -1)
    region_valid = torch.zeros(b, k, dtype=torch.bool)
    if regions:
        region_valid[0] = True
        region_valid[2:, :2] = True
    hard_valid = region_valid.clone()
    hard_valid[0, 0] = False
    return dict(
        pixel_values=torch.randn(b, n, 768, generator=gen) * mask[..., None],
        pixel_attention_mask=mask,
        spatial_shapes=spatial,
        input_ids=torch.randint(3, 1024, (b, 64), generator=gen),
        long_input_ids=torch.randint(3, 1024, (b, 196), generator=gen),
        long_valid=torch.tensor([True, False] + [True] * (b - 2)),
        region_boxes=boxes,
        region_valid=region_valid,
        box_input_ids=torch.randint(3, 1024, (b, k, 64), generator=gen),
        hard_valid=hard_valid,
        hardneg_input_ids=torch.randint(3, 1024, (b, k, 11, 64), generator=gen))


def synthetic_cfg(world, work_dir, max_iters: int = 4, batch_size: int = 4,
                  budget: int = 64, arch: str = 'tiny'):
    """``configs/fgclip2_stage2_synthetic.py`` on ``world``, shrunk for tests: ``arch``
    towers, ``budget`` patches, no dataloader workers, a checkpoint every 2 iterations."""
    from types import SimpleNamespace

    from fgclip2_mm.quickstart.pretrain_stage import build_config
    cfg = build_config(SimpleNamespace(data_root=str(world) + '/', seed=0), str(work_dir))
    for dataset in cfg.train_dataloader.dataset.datasets:
        for transform in dataset.pipeline:
            if transform.type == 'FGCLIP2NaFlexPatchify':
                transform.max_num_patches = budget
    cfg.merge_from_dict({
        'model.arch': arch,
        'model.vision_backbone.arch': arch,
        'model.text_encoder.arch': arch,
        'model.text_encoder.long_walk_any_length': True,  # world tokenizer: 104 tokens
        'train_dataloader.batch_size': batch_size,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'train_cfg.max_iters': max_iters,
        'default_hooks.checkpoint.interval': 2,
        'default_hooks.logger.interval': 1,
        'param_scheduler': [dict(type='CosineAnnealingLR', by_epoch=False, begin=0,
                                 end=max_iters, T_max=max_iters)],
    })
    return cfg
