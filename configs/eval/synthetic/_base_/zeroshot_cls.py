_base_ = ['./synthetic.py', '../../_base_/zeroshot_cls.py']
test_dataloader = dict(dataset=dict(data_root='data/synthetic/'))
