_base_ = ['./eval_dataloader.py']
# Ground-truth box classification (spec §6.4): region features on the dense map, box walk,
# class-mean template embeddings, top-1 over every box of a COCO-format instance file.
test_dataloader = dict(
    dataset=dict(
        type='fgclip2_mm.FGCLIP2BoxClsDataset',
        vocabulary='categories',
        templates='imagenet_en',
        text_walk='box',
        lang='en'))
test_evaluator = dict(type='fgclip2_mm.FGCLIP2BoxClsMetric', topk=(1, 5))
