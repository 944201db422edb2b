"""Writing a converter's output folder safely.

:func:`write_output_folder` lets a converter write its files into a fresh staging folder
inside the destination, then moves each file into place with ``os.replace``:

- a symlink already in the destination (``out/model.safetensors -> /elsewhere``) is
  replaced by the new file, never written through (its target is left untouched);
- a failure half way leaves the destination as it was (the staging folder is removed);
- every file gets the mode a plain ``open()`` would give it (``0o666`` minus the process
  umask; safetensors writes ``0o600`` files);
- the destination may not be the source folder (checked on the real paths).
"""
import os
import os.path as osp
import shutil
import tempfile
from typing import Callable, TypeVar

T = TypeVar('T')


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_output_folder(src: str, dst: str, write: Callable[[str], T],
                        overwrite: bool = False) -> T:
    """Run ``write(staging_folder)`` and move what it wrote into ``dst``.

    Args:
        src (str): The folder being converted (``dst`` may not be it).
        dst (str): Output folder (created).
        write (Callable[[str], T]): Writes the output files into the folder it is given
            (flat: sub-folders are refused).
        overwrite (bool): Allow a non-empty ``dst`` (its files of the same names are
            replaced, others kept).

    Returns:
        T: What ``write`` returned.

    Raises:
        ValueError: ``dst`` is ``src``, is not a folder, or is not empty without
            ``overwrite``; ``write`` produced a sub-folder.
    """
    src, dst = os.fspath(src), os.fspath(dst)
    if osp.exists(dst) and osp.exists(src) and osp.samefile(dst, src) or \
            osp.realpath(dst) == osp.realpath(src):
        raise ValueError(f'output folder {dst!r} is the checkpoint folder itself ({src!r}); '
                         'write the conversion to another folder')
    if osp.lexists(dst) and not osp.isdir(dst):
        raise ValueError(f'output path {dst!r} exists and is not a folder')
    if osp.isdir(dst) and os.listdir(dst) and not overwrite:
        raise ValueError(f'output folder {dst!r} is not empty (use --overwrite)')
    os.makedirs(dst, exist_ok=True)
    staging = tempfile.mkdtemp(prefix='.fgclip2_mm_tmp_', dir=dst)
    try:
        result = write(staging)
        names = sorted(os.listdir(staging))
        folders = [n for n in names if osp.isdir(osp.join(staging, n))]
        if folders:
            raise ValueError(f'the converter wrote sub-folders {folders}; expected files only')
        blocked = [osp.join(dst, n) for n in names
                   if osp.isdir(osp.join(dst, n)) and not osp.islink(osp.join(dst, n))]
        if blocked:
            raise ValueError(f'{blocked} are folders; cannot replace them with files')
        mode = 0o666 & ~_umask()
        for name in names:
            os.chmod(osp.join(staging, name), mode)
            # rename(2) replaces a symlink itself, never the file it points to
            os.replace(osp.join(staging, name), osp.join(dst, name))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result
