"""One HTML page of a quick-start run: every number next to its controls, and the pictures.

:func:`write_report` reads ``<work_dir>/summary.json`` (and, when present,
``<work_dir>/shape_learnability.json`` written by ``tools/benchmarks/shape_learnability.py
--out``, the supervised bound) and writes ``<work_dir>/report.html`` with the pictures
embedded, so the page can be copied or mailed on its own. Sections that did not run say so.
"""
import base64
import html
import json
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence

REPORT = 'report.html'
BOUND_FILE = 'shape_learnability.json'
_STYLE = '''body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #bbb;padding:3px 8px}
th{background:#eee}td.n{text-align:right;font-family:monospace}.miss{color:#b00}
.ok{color:#070}.note{color:#555;font-size:90%}img{max-width:100%;border:1px solid #ccc}
.novel{color:#c0c;font-weight:bold}figure{display:inline-block;margin:.5em;vertical-align:top;
max-width:48%}figcaption{font-size:90%}'''


def _fmt(value) -> str:
    if value is None:
        return '–'
    if isinstance(value, float):
        return f'{value:.3f}'
    return html.escape(str(value))


def _image(path: Optional[str], caption: str) -> str:
    """An embedded PNG/JPEG figure, or a note that the picture is missing."""
    if not path or not osp.isfile(path):
        return f'<p class="note">({html.escape(caption)}: no picture)</p>'
    mime = 'image/jpeg' if path.lower().endswith(('.jpg', '.jpeg')) else 'image/png'
    with open(path, 'rb') as f:
        data = base64.b64encode(f.read()).decode('ascii')
    return (f'<figure><img src="data:{mime};base64,{data}" alt="{html.escape(caption)}">'
            f'<figcaption>{html.escape(caption)}</figcaption></figure>')


def _table(header: Sequence[str], rows: List[Sequence]) -> str:
    head = ''.join(f'<th>{html.escape(h)}</th>' for h in header)
    body = ''.join('<tr>' + ''.join(
        f'<td class="n">{_fmt(v)}</td>' if isinstance(v, (int, float)) or v is None
        else f'<td>{_fmt(v)}</td>' for v in row) + '</tr>' for row in rows)
    return f'<table><tr>{head}</tr>{body}</table>'


def _status(section: dict, name: str) -> Optional[str]:
    """A paragraph for a section that did not finish, else None."""
    status = (section or {}).get('status', 'missing')
    if status == 'ok':
        return None
    reason = section.get('reason') or (f'issue {section["issue"]}' if section.get('issue')
                                       else '')
    return f'<p class="miss">{name}: {html.escape(status)} {html.escape(str(reason))}</p>'


def _encoder(section: dict) -> str:
    enc = section.get('encoder')
    if not isinstance(enc, dict):
        return ''
    return (f'<p class="note">Encoder: <b>{html.escape(enc.get("source", "?"))}</b> — '
            f'{html.escape(enc.get("note", enc.get("checkpoint", "")))}</p>')


def _bars(bars: Optional[Dict[str, bool]]) -> str:
    if not bars:
        return ''
    items = ''.join(f'<li class="{"ok" if ok else "miss"}">{html.escape(k)}: '
                    f'{"met" if ok else "not met"}</li>' for k, ok in bars.items())
    return f'<p>Bars of the issues:</p><ul>{items}</ul>'


def _bound(work_dir: str, profile: str) -> Dict[str, dict]:
    """Last row per arm of the shape-learnability run of this profile, if any."""
    path = osp.join(work_dir, BOUND_FILE)
    if not osp.isfile(path):
        return {}
    with open(path, encoding='utf-8') as f:
        rows = json.load(f)
    out = {}
    for row in rows:
        if row.get('profile', profile) == profile:
            out[row['arm']] = row
    return out


def _world(summary: dict) -> str:
    world = summary.get('world') or {}
    missing = _status(world, 'world')
    if missing:
        return '<h2>World</h2>' + missing
    classes, zh = world.get('classes') or [], world.get('classes_zh') or []
    novel = set(world.get('novel_classes') or [])
    names = ', '.join(
        (f'<span class="novel">{html.escape(c)} / {html.escape(z)} (novel)</span>'
         if c in novel else f'{html.escape(c)} / {html.escape(z)}')
        for c, z in zip(classes, zh))
    pictures = world.get('pictures') or {}
    gallery = pictures.get('gallery')
    link = (f' The bilingual gallery with every text: <a href="{html.escape(osp.basename(gallery))}">'
            f'{html.escape(osp.basename(gallery))}</a>.' if gallery else '')
    return (f'<h2>World ({html.escape(str(world.get("profile")))} profile)</h2>'
            f'<p>{world.get("num_train_images")} train / {world.get("num_val_images")} held-out '
            f'images, {world.get("num_categories")} shapes: {names}.{link}</p>'
            + _image(pictures.get('contact_sheet'), 'held-out samples with their boxes'))


def _pretrain(summary: dict, bound: Dict[str, dict]) -> str:
    pre = summary.get('pretrain') or {}
    missing = _status(pre, 'pretrain')
    if missing:
        return '<h2>Pretraining (CPU)</h2>' + missing
    ctrl = pre.get('controls') or {}
    rand = ctrl.get('random_weights') or {}
    chance = ctrl.get('chance') or {}
    major = ctrl.get('majority_class') or {}
    vit, cnn = bound.get('region_vit') or {}, bound.get('cnn_crop') or {}
    rows = []
    for key, name in (('box_cls_top1_en', 'box classification top-1, EN'),
                      ('box_cls_top1_zh', 'box classification top-1, ZH')):
        rows.append((name, pre.get(key), rand.get(key), major.get('box_cls_top1'),
                     chance.get('box_cls_top1'), vit.get('joint'), cnn.get('joint')))
    for key, name in (('hard_neg_acc_en', 'hard-negative accuracy, EN'),
                      ('hard_neg_acc_zh', 'hard-negative accuracy, ZH')):
        rows.append((name, pre.get(key), rand.get(key), None, chance.get('hard_neg_acc'),
                     None, None))
    rows.append(('shape top-1 (supervised probe only)', None, None,
                 vit.get('majority_shape_top1'), None, vit.get('shape'), cnn.get('shape')))
    bound_note = (f'Supervised bound: {BOUND_FILE} ({vit.get("step")} steps of '
                  'cross-entropy on the ground-truth shape and colour; "joint" = both right).'
                  if bound else f'Supervised bound: not measured for this run (write it with '
                  f'<code>tools/benchmarks/shape_learnability.py --out '
                  f'&lt;work_dir&gt;/{BOUND_FILE}</code>).')
    pictures = pre.get('pictures') or {}
    return ('<h2>Pretraining (CPU, this run)</h2>'
            f'<p>{pre.get("iterations")} iterations of {pre.get("batch_size")} images in '
            f'{_fmt(pre.get("train_seconds"))} s.</p>'
            + _table(('metric', 'trained', 'random weights', 'majority class', 'chance',
                      'supervised bound (region ViT)', 'supervised bound (crop CNN)'), rows)
            + f'<p class="note">{bound_note}</p>'
            + _image(pictures.get('loss_curve'), 'pretraining loss curves')
            + _image(pictures.get('similarity_map'), 'region-phrase similarity maps'))


def _eval(summary: dict) -> str:
    ev = summary.get('eval') or {}
    missing = _status(ev, 'eval')
    if missing:
        return '<h2>Zero-shot evaluation</h2>' + missing
    gallery = ev.get('gallery_images') or 0
    num_classes = len((summary.get('world') or {}).get('classes') or []) or None
    rows = []
    for key, value in ev.items():
        if key.startswith(('retrieval_', 'box_cls_', 'fgovd_', 'zeroshot_')) and \
                isinstance(value, (int, float)):
            chance = (1 / gallery if key.startswith('retrieval_') and gallery else
                      1 / num_classes if key.startswith('zeroshot_') and num_classes else None)
            rows.append((key, value, chance))
    return ('<h2>Zero-shot evaluation (held-out split)</h2>' + _encoder(ev)
            + _table(('metric', 'value', 'chance'), rows) + _bars(ev.get('bars')))


def _ov_det(summary: dict) -> str:
    det = summary.get('ov_det') or {}
    missing = _status(det, 'ov_det')
    if missing:
        return '<h2>Open-vocabulary detection</h2>' + missing
    rows = [('AP50 base, EN', det.get('base_ap50_en'), det.get('base_ap50_random_text')),
            ('AP50 novel, EN', det.get('novel_ap50_en'), det.get('novel_ap50_random_text')),
            ('AP50 base, ZH', det.get('base_ap50_zh'), None),
            ('AP50 novel, ZH', det.get('novel_ap50_zh'), None),
            ('AP50 class-agnostic (localisation only), EN', det.get('agnostic_ap50_en'), None)]
    pictures = det.get('pictures') or {}
    novel = ', '.join(f'{n} / {z}' for n, z in zip(pictures.get('novel') or [],
                                                  pictures.get('novel_zh') or []))
    caption = (f'held-out image, detections above {pictures.get("threshold")}; magenta '
               f'boxes: novel shapes never annotated in training ({novel})')
    return ('<h2>Open-vocabulary detection (frozen encoder, base boxes only)</h2>'
            + _encoder(det)
            + _table(('metric', 'trained detector', 'same detector, random text'), rows)
            + _bars(det.get('meets_bars'))
            + _image(pictures.get('en'), 'English vocabulary: ' + caption)
            + _image(pictures.get('zh'), 'Chinese vocabulary: ' + caption)
            + _image(pictures.get('loss_curve'), 'detector training losses'))


def _ov_seg(summary: dict) -> str:
    seg = summary.get('ov_seg') or {}
    missing = _status(seg, 'ov_seg')
    if missing:
        return '<h2>Open-vocabulary segmentation</h2>' + missing
    rows = [('mIoU trained head, EN', seg.get('miou_trained_en')),
            ('mIoU training-free, EN', seg.get('miou_training_free_en')),
            ('mIoU training-free, ZH', seg.get('miou_training_free_zh')),
            ('mIoU training-free, random weights', seg.get('miou_random')),
            ('mIoU majority class (background everywhere)', seg.get('miou_majority'))]
    pictures = seg.get('pictures') or {}
    trained, free_zh = pictures.get('trained_en') or {}, pictures.get('training_free_zh') or {}
    return ('<h2>Open-vocabulary segmentation (held-out seg maps)</h2>' + _encoder(seg)
            + _table(('metric', 'value'), rows) + _bars(seg.get('bars'))
            + _image(trained.get('overlay'), 'trained head, English classes')
            + _image(free_zh.get('overlay'), 'training-free, Chinese classes')
            + _image(pictures.get('loss_curve'), 'segmentation head training losses'))


def write_report(work_dir: str) -> str:
    """Write ``<work_dir>/report.html`` from ``<work_dir>/summary.json``.

    Args:
        work_dir (str): A quick-start work dir.

    Returns:
        str: The report's path.

    Raises:
        ValueError: No ``summary.json`` in ``work_dir``.
    """
    path = osp.join(work_dir, 'summary.json')
    if not osp.isfile(path):
        raise ValueError(f'{path} not found: run tools/quickstart.py first')
    with open(path, encoding='utf-8') as f:
        summary = json.load(f)
    profile = summary.get('profile') or (summary.get('config') or {}).get('profile', '?')
    total = summary.get('total_seconds')
    parts = [
        f'<h1>FG-CLIP 2 quick start: {html.escape(str(profile))} world</h1>',
        f'<p class="note">From {html.escape(path)}; '
        f'{"total " + _fmt(total) + " s; " if total else "run unfinished; "}'
        f'page written {time.strftime("%Y-%m-%d %H:%M")}. Fractions, held-out split.</p>',
        _world(summary), _pretrain(summary, _bound(work_dir, profile)), _eval(summary),
        _ov_det(summary), _ov_seg(summary)]
    out = osp.join(work_dir, REPORT)
    with open(out, 'w', encoding='utf-8') as f:
        f.write('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
                f'<title>FG-CLIP 2 quick start</title><style>{_STYLE}</style></head><body>'
                + '\n'.join(parts) + '</body></html>\n')
    return out
