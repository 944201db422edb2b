# Validation during pretraining on the synthetic world (held-out val split), for training
# configs: `_base_ = [..., '../eval/_base_/synthetic_pretrain_val.py']` (path relative to
# the training config). Metrics: box classification over every colour x shape phrase
# (`box_cls/top1`, `box_cls/top5`) and FG-OVD hard (`fgovd_hard/acc`: the positive ranked
# first among its 11 texts, ties count as correct; `fgovd_hard/acc_strict` without ties),
# English. The same datasets, predictor and metrics as configs/eval/synthetic/*.py and
# fgclip2_mm.evaluation.evaluate_zero_shot, so the numbers agree on the same checkpoint.
# Another world: --cfg-options val_dataloader.dataset.data_root=... and
# val_cfg.extra_tasks.0.dataloader.dataset.data_root=... val_cfg.tokenizer=...
synthetic_val_pipeline = [
    dict(type='fgclip2_mm.FGCLIP2LoadImage'),
    dict(type='fgclip2_mm.FGCLIP2NaFlexPatchify', max_num_patches=1024),
    dict(type='fgclip2_mm.FGCLIP2PackInputs'),
]
synthetic_val_loader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    collate_fn=dict(type='pseudo_collate'),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_dataloader = dict(
    synthetic_val_loader,
    dataset=dict(
        type='fgclip2_mm.FGCLIP2BoxClsDataset',
        data_root='data/synthetic/',
        ann_file='annotations/instances_val.json',
        vocabulary='colour_shape',
        templates='synthetic_bare_en',
        lang='en',
        pipeline=synthetic_val_pipeline))
val_evaluator = dict(type='fgclip2_mm.FGCLIP2BoxClsMetric')
val_cfg = dict(
    type='fgclip2_mm.FGCLIP2ValLoop',
    tokenizer='data/synthetic/tokenizer',
    cache_dir=None,  # the text tower changes between validations
    extra_tasks=[
        dict(
            dataloader=dict(
                synthetic_val_loader,
                dataset=dict(
                    type='fgclip2_mm.FGCLIP2FGOVDDataset',
                    data_root='data/synthetic/',
                    ann_file='annotations/fgovd_hard_en_val.jsonl',
                    lang='en',
                    pipeline=synthetic_val_pipeline)),
            evaluator=dict(type='fgclip2_mm.FGCLIP2FGOVDMetric', prefix='fgovd_hard'))
    ])
