# Class-agnostic FCN mask head parts (the vocabulary changes between training and test);
# configs take them with {{_base_.mask_roi_extractor}} / {{_base_.mask_head}}.
mask_roi_extractor = dict(
    type='SingleRoIExtractor',
    roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
    out_channels=256,
    featmap_strides=[4, 8, 16, 32])
mask_head = dict(
    type='FCNMaskHead',
    num_convs=4,
    in_channels=256,
    conv_out_channels=256,
    class_agnostic=True,
    loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))
