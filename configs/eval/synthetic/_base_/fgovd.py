_base_ = ['./synthetic.py', '../../_base_/fgovd.py']
test_dataloader = dict(dataset=dict(data_root='data/synthetic/'))
