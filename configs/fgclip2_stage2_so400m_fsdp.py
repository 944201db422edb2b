# So/16 stage 2 with FSDP (mmengine FlexibleRunner + FSDPStrategy): parameters, gradients
# and optimizer states are sharded over the GPUs; every transformer block and MAP head is
# its own FSDP unit (fgclip2_fsdp_wrap_policy). FSDP casts to bf16 itself, so the optim
# wrapper is the plain one. Checkpoints are saved as full state dicts on rank 0.
#   bash tools/dist_train.sh configs/fgclip2_stage2_so400m_fsdp.py 8
_base_ = './fgclip2_stage2_so400m.py'
runner_type = 'FlexibleRunner'
strategy = dict(
    type='FSDPStrategy',
    state_dict_cfg='full',
    model_wrapper=dict(
        auto_wrap_policy=dict(type='fgclip2_fsdp_wrap_policy'),
        mixed_precision=dict(
            param_dtype='bfloat16', reduce_dtype='float32', buffer_dtype='float32')))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer={{_base_.optim_wrapper.optimizer}},
    constructor='FGCLIP2OptimWrapperConstructor')
