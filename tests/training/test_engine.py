"""The optimizer constructor (no weight decay on biases, norms, logit parameters, position
tables and probes) and the FGCLIP2Pretrained initializer (our folder, SigLIP 2 folder)."""
import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from fgclip2_mm.apis import convert_mm_folder, save_fgclip2
from fgclip2_mm.engine import FGCLIP2OptimWrapperConstructor, no_decay_parameter_names
from .helpers import tiny_model

OPTIM = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.5))


def test_no_decay_groups():
    model = tiny_model(frozen_params=('text_encoder.long_pos_res', ))
    names = set(no_decay_parameter_names(model))
    for name in ('logit_scale', 'logit_bias', 'logit_scale_region', 'logit_scale_hardneg',
                 'vision_backbone.pos_embed', 'vision_backbone.head.probe',
                 'text_encoder.pos_embed', 'text_encoder.long_pos_ori',
                 'vision_backbone.layers.0.ln1.weight', 'text_encoder.head.bias'):
        assert name in names, name
    for name in ('vision_backbone.layers.0.attn.qkv.weight', 'text_encoder.token_embedding.weight',
                 'text_encoder.boxtext_head.weight', 'vision_backbone.patch_embed.weight'):
        assert name not in names, name
    assert 'text_encoder.long_pos_res' not in names  # frozen: not in any group
    ctor = FGCLIP2OptimWrapperConstructor(OPTIM, dict(lr_mult={'text_encoder.boxtext_head': 10}))
    wrapper = ctor(model)
    groups = wrapper.optimizer.param_groups
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert sum(len(g['params']) for g in groups) == len(trainable)
    by_param = {id(p): g for g in groups for p in g['params']}
    assert by_param[id(model.logit_scale)]['weight_decay'] == 0.0
    assert by_param[id(model.text_encoder.head.weight)]['weight_decay'] == 0.5
    assert by_param[id(model.text_encoder.boxtext_head.weight)]['lr'] == pytest.approx(1e-2)
    assert by_param[id(model.text_encoder.boxtext_head.bias)]['weight_decay'] == 0.0


def test_a_decay_only_step_leaves_the_no_decay_parameters_alone():
    model = tiny_model()
    wrapper = FGCLIP2OptimWrapperConstructor(OPTIM)(model)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    wrapper.step()  # AdamW with zero gradients: only the decoupled weight decay acts
    names = set(no_decay_parameter_names(model))
    for name, param in model.named_parameters():
        changed = not torch.equal(param, before[name])
        assert changed == (name not in names), name


def test_constructor_validation():
    with pytest.raises(ValueError, match='unknown paramwise_cfg keys'):
        FGCLIP2OptimWrapperConstructor(OPTIM, dict(custom_keys={}))
    with pytest.raises(ValueError, match='lr_mult'):
        FGCLIP2OptimWrapperConstructor(OPTIM, dict(lr_mult={'logit': -1}))


def _assert_same_weights(a, b, skip=()):
    sa, sb = a.state_dict(), b.state_dict()
    for key in sa:
        if not key.startswith(skip):
            torch.testing.assert_close(sa[key], sb[key], msg=key)


def test_pretrained_init_from_our_folder(tmp_path):
    source = tiny_model(seed=1, losses=None)
    save_fgclip2(source, str(tmp_path / 'ours'))
    init = dict(type='FGCLIP2Pretrained', checkpoint=str(tmp_path / 'ours'))
    model = tiny_model(seed=2, init_cfg=[dict(type='Constant', val=0.0, layer='Linear'), init])
    model.init_weights()  # the checkpoint is applied after the other init_cfg entries
    _assert_same_weights(source, model, skip=('losses.', ))
    with pytest.raises(FileNotFoundError, match='huggingface-cli download'):
        tiny_model(init_cfg=dict(init, checkpoint=str(tmp_path / 'missing'))).init_weights()


def test_pretrained_init_from_a_siglip2_folder(tmp_path):
    """A SigLIP 2 layout (no FG-CLIP 2 extras): loaded, then the extras are derived."""
    source = tiny_model(seed=3, losses=None)
    save_fgclip2(source, str(tmp_path / 'ours'))
    folder = tmp_path / 'siglip2'
    convert_mm_folder(str(tmp_path / 'ours'), str(folder), with_extras=False)
    state = load_file(str(folder / 'model.safetensors'))
    extras = ('text_model.embeddings.position_embedding_ori', 'text_model.embeddings.'
              'position_embedding_res', 'longtext_head', 'boxtext_head', 'dense_feature_head')
    save_file({k: v for k, v in state.items() if not k.startswith(extras)},
              str(folder / 'model.safetensors'), metadata={'format': 'pt'})
    config = json.loads((folder / 'config.json').read_text())
    (folder / 'config.json').write_text(json.dumps(dict(config, model_type='siglip2')))
    model = tiny_model(seed=4, init_cfg=dict(type='FGCLIP2Pretrained', checkpoint=str(folder)))
    model.init_weights()
    text, vit = model.text_encoder, model.vision_backbone
    torch.testing.assert_close(text.head.weight, source.text_encoder.head.weight)
    torch.testing.assert_close(text.boxtext_head.weight, text.head.weight)  # derived
    torch.testing.assert_close(vit.dense_head.mlp.fc1.weight, vit.head.mlp.fc1.weight)
    torch.testing.assert_close(text.long_pos_ori[:20], source.text_encoder.pos_embed[:20])
    assert model.losses.hard_negative.cmr_threshold == 0
