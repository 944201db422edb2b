_base_ = ['./synthetic.py', '../../_base_/retrieval.py']
test_dataloader = dict(dataset=dict(data_root='data/synthetic/'))
