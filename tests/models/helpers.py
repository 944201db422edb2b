"""Helpers shared by the model tests (plain functions; fixtures live in conftest.py)."""
import torch

TINY = dict(vocab=1024, dims=32, layers=2, heads=4, mlp=37, num_patches=16)
# Mixed NaFlex shapes: strips, a square, tiny grids (all well under the 24-token budget).
MIXED_SHAPES = [[3, 5], [1, 9], [4, 4], [2, 2], [6, 1], [1, 1]]


def perturb_(model: torch.nn.Module, scale: float = 0.1, seed: int = 0) -> torch.nn.Module:
    """Add noise to every parameter and buffer (LN weights, biases, probes: nothing stays at
    its initial constant, so a wrong mapping cannot hide)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for tensor in list(model.parameters()) + list(model.buffers()):
            if tensor.is_floating_point():
                tensor.add_(torch.randn(tensor.shape, generator=gen) * scale)
    return model


def naflex_batch(shapes, num_tokens: int = 24, seed: int = 0, patch_dims: int = 768) -> dict:
    """Random pre-patchified batch with zero padding rows (like the processor)."""
    gen = torch.Generator().manual_seed(seed)
    spatial = torch.tensor(shapes, dtype=torch.long)
    mask = (torch.arange(num_tokens)[None] < spatial.prod(-1, keepdim=True)).int()
    pixels = torch.randn(len(shapes), num_tokens, patch_dims, generator=gen) * mask[..., None]
    return dict(pixel_values=pixels, pixel_attention_mask=mask, spatial_shapes=spatial)


def hf_tiny_config(**overrides):
    """transformers ``Siglip2Config`` with the tiny sizes."""
    from transformers import Siglip2Config
    tower = dict(
        hidden_size=TINY['dims'],
        intermediate_size=TINY['mlp'],
        num_hidden_layers=TINY['layers'],
        num_attention_heads=TINY['heads'])
    text = dict(
        tower,
        vocab_size=TINY['vocab'],
        max_position_embeddings=64,
        projection_size=TINY['dims'],
        bos_token_id=2,
        eos_token_id=1,
        pad_token_id=0)
    vision = dict(tower, num_patches=TINY['num_patches'], patch_size=16)
    text.update(overrides.pop('text', {}))
    vision.update(overrides.pop('vision', {}))
    return Siglip2Config(text_config=text, vision_config=vision, **overrides)


def official_state_dict(seed: int = 0, with_extras: bool = True) -> dict:
    """A random state dict in the official FG-CLIP 2 layout (spec §7.2), built without our
    code: transformers' ``Siglip2Model`` for the towers, ``nn.MultiheadAttention`` and plain
    tensors for the FG-CLIP 2 extras."""
    import transformers
    torch.manual_seed(seed)
    hf = transformers.Siglip2Model(hf_tiny_config())
    state = {k: v.clone() for k, v in perturb_(hf, seed=seed).state_dict().items()}
    if not with_extras:
        return state
    gen = torch.Generator().manual_seed(seed + 1)
    dims = TINY['dims']

    def rand(*shape):
        return torch.randn(*shape, generator=gen) * 0.2

    state['text_model.embeddings.position_embedding_ori.weight'] = rand(196, dims)
    state['text_model.embeddings.position_embedding_res.weight'] = rand(196, dims)
    for head in ('longtext_head', 'boxtext_head'):
        state[f'{head}.weight'], state[f'{head}.bias'] = rand(dims, dims), rand(dims)
    mha = torch.nn.MultiheadAttention(dims, TINY['heads'], batch_first=True)
    for key, value in mha.state_dict().items():
        state[f'dense_feature_head.attention.{key}'] = rand(*value.shape)
    state['dense_feature_head.probe'] = rand(1, 1, dims)
    state['dense_feature_head.layernorm.weight'] = 1 + rand(dims)
    state['dense_feature_head.layernorm.bias'] = rand(dims)
    state['dense_feature_head.mlp.fc1.weight'] = rand(TINY['mlp'], dims)
    state['dense_feature_head.mlp.fc1.bias'] = rand(TINY['mlp'])
    state['dense_feature_head.mlp.fc2.weight'] = rand(dims, TINY['mlp'])
    state['dense_feature_head.mlp.fc2.bias'] = rand(dims)
    state['logit_scale_finegraind'] = torch.tensor(3.25)
    state['logit_scale_hardneg'] = torch.tensor(2.5)
    return state


def official_config(model_type: str = 'fgclip2') -> dict:
    """An official-looking ``config.json`` for the tiny sizes."""
    cfg = hf_tiny_config().to_dict()
    cfg.update(
        model_type=model_type,
        architectures=['Fgclip2Model'],
        auto_map={'AutoModel': 'modeling_fgclip2.Fgclip2Model'})
    if model_type == 'fgclip2':
        cfg['text_config'].update(keep_len=20, longtext_len=196)
    return cfg


def write_official_folder(folder, state: dict, config: dict, tokenizer_dir=None) -> None:
    """Save ``config.json`` + ``model.safetensors`` (+ tokenizer files) like the hub."""
    import json
    import shutil
    from safetensors.torch import save_file
    folder.mkdir(parents=True, exist_ok=True)
    (folder / 'config.json').write_text(json.dumps(config, indent=2))
    save_file({
        k: v.contiguous()
        for k, v in state.items()
    },
              str(folder / 'model.safetensors'),
              metadata={'format': 'pt'})
    if tokenizer_dir is not None:
        for item in tokenizer_dir.iterdir():
            shutil.copyfile(item, folder / item.name)
