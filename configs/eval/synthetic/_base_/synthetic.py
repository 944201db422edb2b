# The synthetic world's twins of the benchmarks (tools/generate_synthetic_world.py writes
# data/synthetic/). The tokenizer is the world's; a tiny model by default (pass a
# checkpoint folder to tools/test.py to evaluate a trained one).
_base_ = ['../../_base_/default_runtime.py']
model = dict(type='fgclip2_mm.FGCLIP2', arch='tiny')
test_cfg = dict(tokenizer='data/synthetic/tokenizer')
