# FG-CLIP 2 stage 2, L/16 (1024 wide, 24 layers): the B/16 recipe with the large towers.
# No SigLIP 2 NaFlex L/16 is published, so this starts from the released FG-CLIP 2 L/16
# (`huggingface-cli download qihoo360/fg-clip2-large --local-dir checkpoints/fg-clip2-large`)
# or from any converted folder; lower the per-GPU batch (train_dataloader.batch_size) and
# enable auto_scale_lr if 512 does not fit.
_base_ = './fgclip2_stage2.py'
arch = 'large'
model = dict(
    arch=arch,
    vision_backbone=dict(arch=arch),
    text_encoder=dict(arch=arch),
    init_cfg=dict(checkpoint='checkpoints/fg-clip2-large'))
