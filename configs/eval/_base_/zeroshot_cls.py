_base_ = ['./eval_dataloader.py']
# Zero-shot image classification (spec §6.1): class weight = normalised mean of the
# normalised prompt embeddings (short walk), top-1 / top-5. The reference feeds ImageNet
# at a fixed budget of 1024 patches (no dynamic bucket).
test_dataloader = dict(
    dataset=dict(
        type='fgclip2_mm.FGCLIP2ImageClsDataset',
        templates='imagenet_en',
        text_walk='short',
        lang='en',
        pipeline=[
            dict(type='fgclip2_mm.FGCLIP2LoadImage'),
            dict(
                type='fgclip2_mm.FGCLIP2NaFlexPatchify',
                max_num_patches=1024,
                dynamic_budget=False),
            dict(type='fgclip2_mm.FGCLIP2PackInputs'),
        ]))
test_evaluator = dict(type='fgclip2_mm.FGCLIP2ImageClsMetric', topk=(1, 5))
