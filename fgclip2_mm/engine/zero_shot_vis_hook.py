"""``FGCLIP2ZeroShotVisHook``: draw the zero-shot predictions of a test run
(``tools/test.py CONFIG CKPT --show-dir DIR``, as mmdet's ``DetVisualizationHook`` draws
detections with ``--show-dir``).

Per image of the test dataloader (the main task; ``extra_tasks`` are not drawn), written as
``<out_dir>/<sample_idx>_<image name>.jpg``:

============  ==========================================================================
task          drawn
============  ==========================================================================
box_cls       every ground-truth box with its top-1 class and score; green when the top-1
              is the box's label, red otherwise
fgovd         the record's box with the top-scored expression; green when it is the
              positive (index 0, ties count as correct as in the metric), red otherwise
image_cls     the top-1 class and score as a title; green when it is the label
retrieval     nothing: a gallery ranking has no per-image picture (said once in the log)
============  ==========================================================================

Chinese labels are drawn with a system CJK font when there is one
(:func:`fgclip2_mm.visualization.fonts.find_cjk_font`); without one the log says so once and
Pillow's default font is used. Images that failed to load are skipped and counted.
"""
import os
import os.path as osp
from typing import Optional, Sequence

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log

from fgclip2_mm.registry import HOOKS
from fgclip2_mm.text import contains_cjk

GOOD, BAD = (40, 200, 60), (220, 40, 40)


@HOOKS.register_module()
class FGCLIP2ZeroShotVisHook(Hook):
    """Write one picture per test image with its zero-shot prediction.

    Args:
        out_dir (str): Output folder (created); relative paths are under the run's
            ``work_dir/<timestamp>``, as mmdet's ``test_out_dir``.
        interval (int): Draw every ``interval``-th batch. Defaults to 1.
        font_size (int): Label size in pixels. Defaults to 14.
    """

    priority = 'NORMAL'

    def __init__(self, out_dir: str, interval: int = 1, font_size: int = 14) -> None:
        if not isinstance(out_dir, str) or not out_dir:
            raise ValueError(f'FGCLIP2ZeroShotVisHook: out_dir must be a folder path, '
                             f'got {out_dir!r}')
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(f'FGCLIP2ZeroShotVisHook: interval must be an int >= 1, '
                             f'got {interval!r}')
        self.out_dir = out_dir
        self.interval = interval
        self.font_size = font_size
        self._fonts = {}
        self._said = set()
        self.num_written = 0
        self.num_skipped = 0

    def _say_once(self, key: str, message: str) -> None:
        if key not in self._said:
            self._said.add(key)
            print_log(message, logger='current')

    def before_test(self, runner) -> None:
        if not osp.isabs(self.out_dir):
            self.out_dir = osp.join(runner.work_dir, runner.timestamp, self.out_dir)
        os.makedirs(self.out_dir, exist_ok=True)
        self.num_written = self.num_skipped = 0

    def after_test(self, runner) -> None:
        print_log(f'FGCLIP2ZeroShotVisHook: wrote {self.num_written} pictures to '
                  f'{self.out_dir}' + (f'; skipped {self.num_skipped} images that failed to '
                                       'load' if self.num_skipped else ''), logger='current')

    def _font(self, cjk: bool):
        from PIL import ImageFont
        if cjk not in self._fonts:
            path = None
            if cjk:
                from fgclip2_mm.visualization.fonts import find_cjk_font
                path = find_cjk_font()
                if path is None:
                    self._say_once('font', 'FGCLIP2ZeroShotVisHook: no system font has '
                                   'Chinese glyphs; Chinese labels are drawn as boxes')
            self._fonts[cjk] = (ImageFont.truetype(path, self.font_size) if path else
                                ImageFont.load_default())
        return self._fonts[cjk]

    def _label(self, draw, xy, text: str, colour) -> None:
        font = self._font(contains_cjk(text))
        x, y = xy
        left, top, right, bottom = draw.textbbox((x, y), text, font=font)
        y = max(0, y - (bottom - top) - 4)
        left, top, right, bottom = draw.textbbox((x, y), text, font=font)
        draw.rectangle((left - 2, top - 2, right + 2, bottom + 2), fill=colour)
        draw.text((x, y), text, fill=(255, 255, 255), font=font)

    def after_test_iter(self, runner, batch_idx: int, data_batch=None,
                        outputs: Optional[Sequence] = None) -> None:
        if outputs is None or batch_idx % self.interval:
            return
        from fgclip2_mm.evaluation.loop import unwrap_model
        head = getattr(unwrap_model(runner.model), 'zero_shot_head', None)
        meta = getattr(head, 'meta', None) or {}
        for sample in outputs:
            self._draw(sample, meta.get('classes') or ())

    def _draw(self, sample, classes: Sequence[str]) -> None:
        from PIL import Image, ImageDraw
        info = sample.metainfo
        task = info.get('eval_task')
        if task == 'retrieval':
            self._say_once('retrieval', 'FGCLIP2ZeroShotVisHook: retrieval predictions are a '
                           'gallery ranking; no picture is drawn for them')
            return
        if info.get('load_failed', False) or 'pred_scores' not in sample:
            self.num_skipped += 1
            return
        image = Image.open(info['img_path']).convert('RGB')
        draw = ImageDraw.Draw(image)
        scores = torch.as_tensor(sample.pred_scores).float().cpu()
        width = max(2, round(min(image.size) / 200))
        if task == 'box_cls':
            boxes = torch.as_tensor(sample.gt_instances.bboxes).float().reshape(-1, 4)
            labels = torch.as_tensor(info['gt_labels']).long().reshape(-1)
            for box, row, label in zip(boxes.tolist(), scores, labels.tolist()):
                best = int(row.argmax())
                colour = GOOD if best == label else BAD
                draw.rectangle(box, outline=colour, width=width)
                self._label(draw, box[:2], f'{classes[best]} {float(row[best]):.2f}', colour)
        elif task == 'fgovd':
            box = torch.as_tensor(sample.gt_instances.bboxes).float().reshape(-1, 4)[0].tolist()
            best = int(scores.argmax())
            colour = GOOD if float(scores[0]) >= float(scores.max()) else BAD
            draw.rectangle(box, outline=colour, width=width)
            self._label(draw, box[:2], f'{info["texts"][best]} {float(scores[best]):.2f}',
                        colour)
        elif task == 'image_cls':
            best = int(scores.argmax())
            colour = GOOD if best == int(info['gt_label']) else BAD
            self._label(draw, (4, self.font_size + 8),
                        f'{classes[best]} {float(scores[best]):.2f}', colour)
        else:
            raise ValueError(f'FGCLIP2ZeroShotVisHook: sample {info.get("sample_idx")} has '
                             f'eval_task={task!r}; expected box_cls, fgovd, image_cls or '
                             'retrieval')
        name = f'{info.get("sample_idx", self.num_written)}_' + osp.splitext(
            osp.basename(info['img_path']))[0] + '.jpg'
        image.save(osp.join(self.out_dir, name), quality=92)
        self.num_written += 1
