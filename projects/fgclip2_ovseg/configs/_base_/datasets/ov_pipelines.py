# Test-time pipelines shared by the open-vocabulary benchmarks: short side resized to
# `ov_test_scale[1]` (long side capped at `ov_test_scale[0]`), labels loaded after the
# resize (the metric compares at the original size).
ov_test_scale = (2048, 448)
ov_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=ov_test_scale, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
# ADE20K-847 and PASCAL-Context-459 store 16-bit labels: mmseg's LoadAnnotations would cast
# them to uint8.
ov_test_pipeline_16bit = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=ov_test_scale, keep_ratio=True),
    dict(type='fgclip2_mm.FGCLIP2LoadSegAnnotations'),
    dict(type='PackSegInputs')
]
