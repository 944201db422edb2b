# CAT-Seg's PAS-20b on the VOC-21 labels (0 = background, 1..20 the VOC classes): the
# prediction vocabulary of cvlab-kaist/CAT-Seg datasets/voc20b.json (HEAD 6d3a188), the 20
# VOC classes then 39 PASCAL-Context classes; class_to_label sends VOC class i to label
# i + 1 and every added class to the background 0 (train_net.py l.60).
_base_ = ['./voc21.py']
pas20b_vocabulary = [
    'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
    'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa',
    'train', 'tvmonitor', 'bag', 'bed', 'bench', 'book', 'building', 'cabinet', 'ceiling',
    'cloth', 'computer', 'cup', 'door', 'fence', 'floor', 'flower', 'food', 'grass', 'ground',
    'keyboard', 'light', 'mountain', 'mouse', 'curtain', 'platform', 'sign', 'plate', 'road',
    'rock', 'shelves', 'sidewalk', 'sky', 'snow', 'bedclothes', 'track', 'tree', 'truck',
    'wall', 'water', 'window', 'wood'
]  # 59
pas20b_class_to_label = [i + 1 for i in range(20)] + [0] * 39
