"""Fixtures of the evaluation tests: one small synthetic world and one tiny random model
folder per session (tmp dirs, never data/)."""
import pytest
import torch


@pytest.fixture(scope='session')
def eval_world(tmp_path_factory):
    """A 8 + 16 image world (val: 16 detection images, 16 classification images)."""
    from fgclip2_mm.synthetic_world import generate_world
    out = tmp_path_factory.mktemp('eval_world') / 'world'
    summary = generate_world(str(out), seed=0, num_train=8, num_val=16, workers=1)
    return summary['out_dir']


def _perturbed_tiny(seed: int):
    from fgclip2_mm.models import FGCLIP2
    torch.manual_seed(seed)
    model = FGCLIP2(arch='tiny').eval()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # move every parameter off its initial constant
        for param in model.parameters():
            param.add_(torch.randn(param.shape, generator=gen) * 0.05)
    return model


@pytest.fixture(scope='session')
def tiny_model():
    return _perturbed_tiny(0)


@pytest.fixture(scope='session')
def tiny_folder(tmp_path_factory, tiny_model):
    from fgclip2_mm.apis import save_fgclip2
    folder = tmp_path_factory.mktemp('tiny_model') / 'model'
    save_fgclip2(tiny_model, str(folder))
    return str(folder)


@pytest.fixture
def other_tiny_model():
    return _perturbed_tiny(1)

