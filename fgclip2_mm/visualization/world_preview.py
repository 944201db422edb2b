"""Previews of the synthetic world: annotated images, a contact sheet and an HTML gallery.

The PNG contact sheet carries English labels (a CJK font is used when the system has one);
the HTML gallery shows every text in both languages, since browsers render Chinese.
"""
import html
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

from PIL import Image, ImageDraw, ImageFont

_PALETTE = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180),
            (70, 240, 240), (240, 50, 230), (128, 128, 0), (0, 0, 128), (170, 110, 40)]


def load_font(size: int = 12) -> ImageFont.ImageFont:
    """A font for labels: a CJK-capable one when installed, else Pillow's default."""
    from .fonts import find_cjk_font
    path = find_cjk_font()
    return ImageFont.truetype(path, size) if path else ImageFont.load_default(size=size)


def draw_annotated_image(image: Image.Image,
                         boxes: Sequence[Sequence[float]],
                         labels: Sequence[str],
                         min_side: int = 256,
                         font: Optional[ImageFont.ImageFont] = None) -> Image.Image:
    """Draw pixel xyxy boxes with labels; small images are upscaled first for legibility.

    Args:
        image (PIL.Image.Image): RGB image.
        boxes (Sequence): Boxes (x1, y1, x2, y2) in pixels of ``image``.
        labels (Sequence[str]): One label per box.
        min_side (int): Images whose shorter side is below this are upscaled (nearest).
        font (ImageFont, optional): Label font. Defaults to :func:`load_font`.

    Returns:
        PIL.Image.Image: A new annotated image.
    """
    if len(boxes) != len(labels):
        raise ValueError(f'got {len(boxes)} boxes but {len(labels)} labels')
    scale = max(1.0, min_side / min(image.size))
    canvas = image.convert('RGB').resize(
        (round(image.width * scale), round(image.height * scale)), Image.NEAREST)
    draw = ImageDraw.Draw(canvas)
    font = font or load_font(12)
    for index, (box, label) in enumerate(zip(boxes, labels)):
        colour = _PALETTE[index % len(_PALETTE)]
        x1, y1, x2, y2 = (v * scale for v in box)
        draw.rectangle((x1, y1, x2, y2), outline=colour, width=2)
        left, top, right, bottom = draw.textbbox((x1, y1), label, font=font)
        text_y = max(0, y1 - (bottom - top) - 2)
        draw.rectangle((x1, text_y, x1 + right - left + 4, text_y + bottom - top + 2),
                       fill=colour)
        draw.text((x1 + 2, text_y), label, fill=(255, 255, 255), font=font)
    return canvas


def _contact_sheet(images: List[Image.Image], columns: int = 4, cell: int = 320,
                   captions: Optional[List[str]] = None) -> Image.Image:
    rows = (len(images) + columns - 1) // columns
    caption_h = 30 if captions else 0
    sheet = Image.new('RGB', (columns * cell, rows * (cell + caption_h)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = load_font(11)
    for index, image in enumerate(images):
        thumb = image.copy()
        thumb.thumbnail((cell - 8, cell - 8))
        x = (index % columns) * cell + (cell - thumb.width) // 2
        y = (index // columns) * (cell + caption_h) + (cell - thumb.height) // 2
        sheet.paste(thumb, (x, y))
        if captions:
            text = captions[index]
            text = text if len(text) <= 52 else text[:49] + '...'
            draw.text(((index % columns) * cell + 4, (index // columns) * (cell + caption_h)
                       + cell), text, fill=(0, 0, 0), font=font)
    return sheet


def _load_records(path: str) -> Dict[str, dict]:
    with open(path, encoding='utf-8') as f:
        return {record['f_path']: record for record in json.load(f)}


def _pixel_boxes(record: dict, size: Tuple[int, int]) -> List[List[float]]:
    width, height = size
    return [[b['bbox'][0] * width, b['bbox'][1] * height, b['bbox'][2] * width,
             b['bbox'][3] * height] for b in record['bbox_info']]


def write_world_gallery(data_root: str, out_dir: str, split: str = 'val',
                        num_images: int = 12) -> Dict[str, str]:
    """Write ``world_samples.png`` and ``world_gallery.html`` for the first images of a split.

    Args:
        data_root (str): Root of a world written by
            :func:`fgclip2_mm.synthetic_world.generate_world`.
        out_dir (str): Output folder (created).
        split (str): 'train' or 'val'.
        num_images (int): How many images to show.

    Returns:
        dict: Paths of the written files (``contact_sheet``, ``gallery``).
    """
    ann_dir = osp.join(data_root, 'annotations')
    records_en = _load_records(osp.join(ann_dir, f'finehard_en_{split}.json'))
    records_zh = _load_records(osp.join(ann_dir, f'finehard_zh_{split}.json'))
    image_dir = osp.join(out_dir, 'gallery')
    os.makedirs(image_dir, exist_ok=True)

    annotated, sheet_captions, blocks = [], [], []
    for f_path in list(records_en)[:num_images]:
        en, zh = records_en[f_path], records_zh.get(f_path)
        image = Image.open(osp.join(data_root, f_path)).convert('RGB')
        boxes = _pixel_boxes(en, image.size)
        labels = [b['short_expr'] for b in en['bbox_info']]
        drawn = draw_annotated_image(image, boxes, labels)
        name = osp.basename(f_path).rsplit('.', 1)[0] + '.png'
        drawn.save(osp.join(image_dir, name))
        annotated.append(drawn)
        sheet_captions.append(en['short_caption'])
        blocks.append(_gallery_block(f'gallery/{name}', image.size, en, zh))

    paths = {'contact_sheet': osp.join(out_dir, 'world_samples.png'),
             'gallery': osp.join(out_dir, 'world_gallery.html')}
    _contact_sheet(annotated, captions=sheet_captions).save(paths['contact_sheet'])
    with open(paths['gallery'], 'w', encoding='utf-8') as f:
        f.write('<!doctype html><meta charset="utf-8"><title>fgclip2_mm synthetic world'
                '</title><style>body{font-family:sans-serif;max-width:1100px;margin:auto}'
                '.item{display:flex;gap:16px;border-bottom:1px solid #ddd;padding:12px}'
                'img{max-width:420px;max-height:420px}td{vertical-align:top;padding:2px 6px}'
                '</style><h1>Synthetic bilingual world: ' + html.escape(split) + '</h1>'
                + '\n'.join(blocks))
    return paths


def _gallery_block(image_src: str, size: Tuple[int, int], en: dict,
                   zh: Optional[dict]) -> str:
    esc = html.escape
    rows = []
    for index, box in enumerate(en['bbox_info']):
        zh_box = zh['bbox_info'][index] if zh else {}
        negs_en = '; '.join(box['short_expr_negs'].values())
        negs_zh = '；'.join(zh_box.get('short_expr_negs', {}).values())
        rows.append(f'<tr><td>{index}</td><td>{esc(box["short_expr"])}<br>'
                    f'<small>{esc(box["long_expr"])}</small><br><small>✗ {esc(negs_en)}'
                    f'</small></td><td>{esc(zh_box.get("short_expr", ""))}<br><small>'
                    f'{esc(zh_box.get("long_expr", ""))}</small><br><small>✗ '
                    f'{esc(negs_zh)}</small></td></tr>')
    zh_caps = (f'<p><b>短描述</b> {esc(zh["short_caption"])}</p><p><b>长描述</b> '
               f'{esc(zh["caption"])}</p>') if zh else ''
    return (f'<div class="item"><img src="{esc(image_src)}"><div><p><code>{esc(en["f_path"])}'
            f'</code> {size[0]}×{size[1]} px</p><p><b>short</b> {esc(en["short_caption"])}'
            f'</p><p><b>long</b> {esc(en["caption"])}</p>{zh_caps}<table><tr><th>#</th>'
            f'<th>region (EN) / hard negatives</th><th>区域 (ZH) / 难负例</th></tr>'
            + ''.join(rows) + '</table></div></div>')
