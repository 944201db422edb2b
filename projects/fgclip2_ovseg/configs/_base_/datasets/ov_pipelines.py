# Test-time pipelines shared by the open-vocabulary benchmarks: short side resized to
# scale[1] (long side capped at scale[0]), labels loaded after the resize (the metric
# compares at the original size).
# - ov_test_*: short side 448 (the training-free protocol's windows);
# - catseg_test_*: CAT-Seg's test mapping, short side 640 (MIN_SIZE_TEST, long side <= 2560,
#   cvlab-kaist/CAT-Seg configs/config.yaml l.52-53); the segmentor then resizes to
#   640 x 640 (test_cfg mode 'slide_global').
# The *_16bit variants are for ADE20K-847 and PASCAL-Context-459, which store 16-bit labels
# (mmseg's LoadAnnotations would cast them to uint8).
ov_test_scale = (2048, 448)
catseg_test_scale = (2560, 640)
(ov_test_pipeline, ov_test_pipeline_16bit, catseg_test_pipeline, catseg_test_pipeline_16bit) = [
    [dict(type='LoadImageFromFile'), dict(type='Resize', scale=scale, keep_ratio=True),
     dict(type=loader), dict(type='PackSegInputs')]
    for scale in (ov_test_scale, catseg_test_scale)
    for loader in ('LoadAnnotations', 'fgclip2_mm.FGCLIP2LoadSegAnnotations')]
