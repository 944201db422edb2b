_base_ = ['./synthetic.py', '../../_base_/box_cls.py']
test_dataloader = dict(dataset=dict(data_root='data/synthetic/'))
