# FG-CLIP 2 stage 2, So/16 (1152 wide, 27 layers), initialised from SigLIP 2 So/16 NaFlex:
#   huggingface-cli download google/siglip2-so400m-patch16-naflex \
#       --local-dir checkpoints/siglip2-so400m-patch16-naflex
# For GPUs where the DDP replica does not fit, see fgclip2_stage2_so400m_fsdp.py.
_base_ = './fgclip2_stage2.py'
arch = 'so400m'
model = dict(
    arch=arch,
    vision_backbone=dict(arch=arch),
    text_encoder=dict(arch=arch),
    init_cfg=dict(checkpoint='checkpoints/siglip2-so400m-patch16-naflex'))
