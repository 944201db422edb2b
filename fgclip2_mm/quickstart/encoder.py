"""Which FG-CLIP 2 the downstream sections (``eval``, ``ov_det``, ``ov_seg``) use.

The ``pretrain`` section always trains its own small encoder on the CPU (about 10
minutes). A stronger one, pretrained on the GPU machine by
``tools/device/pretrain_synthetic.sh`` on a large world of the same profile, is used
instead when its folder is committed in the checkout (:data:`GPU_ENCODER_DIR`: ``model/``,
a :func:`~fgclip2_mm.apis.load_fgclip2` folder that carries its tokenizer, and
``provenance.json``) and its profile is the quick start's. Every downstream section records
the encoder it used (:func:`downstream_encoder`'s ``encoder`` entry).
"""
import json
import os.path as osp
from typing import Optional, Tuple

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: Committed GPU-pretrained encoder (absent until a session with a GPU machine adds it).
GPU_ENCODER_DIR = osp.join(REPO, 'checkpoints', 'fgclip2_synthetic_gpu')
PROVENANCE_FILE = 'provenance.json'


def gpu_encoder(profile: str, folder: str = GPU_ENCODER_DIR) -> Tuple[Optional[dict], str]:
    """The committed GPU encoder for ``profile``, or ``(None, why not)``.

    Returns:
        tuple: ``(encoder, reason)``; ``encoder`` is ``dict(source='gpu', checkpoint,
        tokenizer, provenance)`` or None, ``reason`` says why it is (not) used.
    """
    prov_path = osp.join(folder, PROVENANCE_FILE)
    model = osp.join(folder, 'model')
    if not osp.isfile(prov_path) or not osp.isdir(model):
        return None, f'no GPU-pretrained encoder committed ({folder} has no model/ and ' \
                     f'{PROVENANCE_FILE})'
    with open(prov_path, encoding='utf-8') as f:
        provenance = json.load(f)
    world_profile = (provenance.get('world') or {}).get('profile')
    if world_profile != profile:
        return None, (f'the GPU-pretrained encoder in {folder} was trained on a '
                      f'{world_profile!r} world, the quick start runs {profile!r}')
    return dict(source='gpu', checkpoint=model, tokenizer=model,
                provenance=provenance), f'GPU-pretrained encoder {model}'


def downstream_encoder(config, summary: dict) -> Tuple[Optional[dict], Optional[str]]:
    """The encoder a downstream section uses: the committed GPU one when it fits the
    quick start's profile, else the ``pretrain`` section's.

    Args:
        config (QuickstartConfig): ``profile``.
        summary (dict): Sections finished so far.

    Returns:
        tuple: ``(encoder, None)`` with ``encoder = dict(source='gpu' | 'pretrain',
        checkpoint, tokenizer, note)`` (``provenance`` too for the GPU one), or
        ``(None, reason)`` when neither is usable.
    """
    gpu, why = gpu_encoder(config.profile)
    if gpu is not None:
        return dict(gpu, note=why), None
    pre = summary.get('pretrain') or {}
    if pre.get('status') != 'ok':
        detail = f': {pre["reason"]}' if pre.get('reason') else ''
        return None, (f'the pretrain section is {pre.get("status", "missing")!r}{detail} and '
                      f'{why}')
    missing = [k for k in ('checkpoint', 'tokenizer') if not pre.get(k)]
    if missing:
        return None, f'pretrain section has no {missing}'
    ckpt, tok = pre['checkpoint'], pre['tokenizer']
    if not ckpt or not osp.isdir(ckpt):
        return None, f'pretrain checkpoint folder not found: {ckpt!r}'
    if not tok or not osp.isdir(tok):
        return None, f'pretrain tokenizer folder not found: {tok!r}'
    return dict(source='pretrain', checkpoint=ckpt, tokenizer=tok,
                note=f'the pretrain section\'s CPU encoder ({why})'), None
