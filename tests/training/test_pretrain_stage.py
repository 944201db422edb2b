"""The quick-start ``pretrain`` section end to end on a small world (few iterations)."""
import json

import pytest
import torch

from fgclip2_mm.apis import encode_regions, encode_texts, load_fgclip2
from fgclip2_mm.quickstart.pipeline import QuickstartConfig


@pytest.mark.slow
def test_pretrain_section(small_world, tmp_path):
    from fgclip2_mm.quickstart.pretrain_stage import METRICS, run
    config = QuickstartConfig(work_dir=str(tmp_path), data_root=str(small_world) + '/',
                              sections=[])
    section = run(config, {}, print, {'train_cfg.max_iters': 4,
                                      'train_dataloader.batch_size': 4})
    json.dumps(section)  # summary.json material
    assert section['iterations'] == 4 and section['status'] == 'ok'
    for key in METRICS:
        assert 0.0 <= section[key] <= 1.0
    assert set(section['final_losses']) >= {'loss', 'loss_region', 'loss_hard_pair'}
    for path in section['pictures'].values():
        assert (tmp_path / path.split('/')[-1]).stat().st_size > 1000
    model = load_fgclip2(section['checkpoint'])  # what the downstream stages do
    from fgclip2_mm.datasets import FGCLIP2Tokenizer
    tok = FGCLIP2Tokenizer(section['checkpoint'], short_length=section['text_lengths']['short'])
    text = encode_texts(model, ['a small solid red circle'], tok, walk_type='box')
    image = (torch.rand(64, 96, 3) * 255).byte().numpy()
    region = encode_regions(model, image, [[4, 4, 40, 40]])[0]
    assert text.shape == region.shape == (1, 64)
