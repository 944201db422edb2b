# FG-CLIP 2 stage 2, B/16, the released recipe (spec section 4.2, stage2_fgclip2.sh):
# initialised from SigLIP 2 B/16 NaFlex (`--from_siglip2`: the 64 -> 196 long-position
# stretch, box/long heads and dense head copied), global + fine-grained losses trained
# jointly on FineHARD + Chinese pairs, 8 GPUs x 512, bf16, gradient checkpointing.
#
#   huggingface-cli download google/siglip2-base-patch16-naflex \
#       --local-dir checkpoints/siglip2-base-patch16-naflex    # weights + tokenizer
#   bash tools/dist_train.sh configs/fgclip2_stage2.py 8
_base_ = [
    './_base_/models/fgclip2_base.py', './_base_/datasets/finehard_bilingual.py',
    './_base_/schedules/adamw_warmup_cosine.py', './_base_/default_runtime.py'
]
model = dict(
    init_cfg=dict(type='FGCLIP2Pretrained',
                  checkpoint='checkpoints/siglip2-base-patch16-naflex'))
