"""Distributed helpers for the contrastive losses (autograd-aware, topology read at call time).

Every function asks for the rank and world size *when it is called* (never cached at
construction), and degrades to a no-communication identity when no process group is
initialised, so the same code runs single-process, under DDP and in tests.

Only the default process group is supported. Gradient conventions (what ``backward``
does) are stated per function; the loss modules in :mod:`fgclip2_mm.models.losses` rely
on them to make "mean over ranks of the per-rank losses" equal the single-process loss
on the concatenated batch, with per-rank embedding gradients equal to ``W`` times the
single-process gradient (DDP's average over ``W`` ranks then gives the exact global
gradient of the shared parameters).

Collective order matters: on every rank the same helpers must be called in the same order
with tensors of the same dtype and trailing shape. The helpers never branch on local data
in a way that changes the collectives they run.
"""
from typing import Iterator, List, Sequence, Tuple

import torch
import torch.distributed as dist
from mmengine.dist import get_dist_info as _mmengine_dist_info

EXCHANGE_IMPLS = ('gather', 'bidir')


def get_dist_info() -> Tuple[int, int]:
    """``(rank, world_size)`` of the default group, read now; ``(0, 1)`` without one."""
    return _mmengine_dist_info()


class _AllGather(torch.autograd.Function):
    """Stack of every rank's tensor; backward sums the gradient of all ranks and returns
    this rank's slice (the gradient of ``sum_r loss_r`` with respect to the local input)."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        rank, world_size = get_dist_info()
        ctx.rank = rank
        tensor = tensor.contiguous()
        parts = [torch.empty_like(tensor) for _ in range(world_size)]
        dist.all_gather(parts, tensor)
        return torch.stack(parts)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        # all_reduce works on every backend (gloo has no reduce_scatter); the traffic is
        # W*n*D per rank, twice what a reduce-scatter would move.
        grad = grad.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad[ctx.rank]


def all_gather_with_grad(tensor: torch.Tensor) -> torch.Tensor:
    """Gather ``tensor`` from every rank, keeping the autograd graph.

    Args:
        tensor (Tensor): Local tensor; same shape and dtype on every rank.

    Returns:
        Tensor: Shape ``(W, *tensor.shape)``, slot ``r`` holding rank ``r``'s tensor.
        Backward: the gradient flowing into the local input is the sum over ranks of
        the gradients of their slot ``rank``. With ``W == 1`` this is ``tensor[None]``.
    """
    if get_dist_info()[1] == 1:
        return tensor.unsqueeze(0)
    return _AllGather.apply(tensor)


def all_gather_ints(values: Sequence[int], device: torch.device) -> List[List[int]]:
    """Gather a few Python ints from every rank with one small ``all_gather``.

    Args:
        values (Sequence[int]): Same length on every rank.
        device (torch.device): Device of the exchanged tensor (CUDA for NCCL).

    Returns:
        list[list[int]]: ``W`` rows, row ``r`` = rank ``r``'s values.
    """
    values = [int(v) for v in values]
    if get_dist_info()[1] == 1:
        return [values]
    local = torch.tensor(values, dtype=torch.long, device=device)
    return all_gather_with_grad(local).tolist()


def gather_variable(tensor: torch.Tensor,
                    sizes: Sequence[int]) -> Tuple[torch.Tensor, torch.Tensor]:
    """Autograd all-gather of tensors whose first dimension differs across ranks.

    Each rank pads its rows with zeros to ``max(sizes)``; the padding receives no gradient
    that reaches the input.

    Args:
        tensor (Tensor): Local rows, shape ``(sizes[rank], *rest)``.
        sizes (Sequence[int]): Row count of every rank (for example from
            :func:`all_gather_ints`).

    Returns:
        tuple[Tensor, Tensor]: ``padded`` of shape ``(W, max(sizes), *rest)`` and the
        boolean validity mask of shape ``(W, max(sizes))``.
    """
    rank, world_size = get_dist_info()
    if len(sizes) != world_size or sizes[rank] != tensor.shape[0]:
        raise ValueError(f'sizes {list(sizes)} do not match world size {world_size} and '
                         f'the local row count {tensor.shape[0]}')
    max_rows = max(sizes)
    pad = tensor.new_zeros((max_rows - tensor.shape[0], ) + tuple(tensor.shape[1:]))
    padded = all_gather_with_grad(torch.cat([tensor, pad]))
    counts = torch.tensor(list(sizes), device=tensor.device)
    valid = torch.arange(max_rows, device=tensor.device)[None] < counts[:, None]
    return padded, valid


def gather_rows_with_grad(tensor: torch.Tensor) -> Tuple[torch.Tensor, List[int], int]:
    """Concatenate every rank's rows in rank order (variable counts, autograd-aware).

    Runs one small ``all_gather`` of the counts, then (only when some rank has a row, a
    decision every rank takes identically) one autograd all-gather of the padded rows.

    Args:
        tensor (Tensor): Local rows ``(n, *rest)``; ``n`` may be 0 and may differ
            across ranks; ``rest`` and the dtype must agree.

    Returns:
        tuple[Tensor, list[int], int]: The global rows ``(sum(sizes), *rest)`` (the local
        tensor itself when ``W == 1``), the per-rank counts, and this rank's row offset in
        the global rows.
    """
    rank, world_size = get_dist_info()
    sizes = [row[0] for row in all_gather_ints([tensor.shape[0]], tensor.device)]
    offset = sum(sizes[:rank])
    if world_size == 1 or sum(sizes) == 0:
        return tensor, sizes, offset
    padded, _ = gather_variable(tensor, sizes)
    # Python-int slices: no device sync (a boolean mask index would need one).
    rows = torch.cat([padded[r, :size] for r, size in enumerate(sizes)])
    return rows, sizes, offset


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum of ``tensor`` over ranks, as a new detached tensor (statistics, counts).

    Returns a detached copy when ``W == 1``. Not differentiable by design.
    """
    out = tensor.detach().clone(memory_format=torch.contiguous_format)
    if get_dist_info()[1] > 1:
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out


# ------------------------------------------------------------------ neighbour exchange
def _p2p(sends: Sequence[Tuple[torch.Tensor, int]],
         recvs: Sequence[Tuple[torch.Tensor, int]]) -> None:
    """Post every send and receive in one ``batch_isend_irecv`` and wait for them."""
    ops = [dist.P2POp(dist.isend, t.contiguous(), peer) for t, peer in sends]
    ops += [dist.P2POp(dist.irecv, buf, peer) for buf, peer in recvs]
    for req in dist.batch_isend_irecv(ops):
        req.wait()


def _buffer(like: torch.Tensor) -> torch.Tensor:
    """A contiguous receive buffer (autograd may hand us transposed or expanded grads)."""
    return torch.empty_like(like, memory_format=torch.contiguous_format)


def _neighbours() -> Tuple[int, int]:
    rank, world_size = get_dist_info()
    return (rank - 1) % world_size, (rank + 1) % world_size


class _NeighbourExchange(torch.autograd.Function):
    """Send to the right neighbour, receive from the left; backward sends the gradient
    back to the left and receives the gradient of what was sent from the right."""

    @staticmethod
    def forward(ctx, to_right: torch.Tensor) -> torch.Tensor:
        left, right = _neighbours()
        ctx.left, ctx.right = left, right
        from_left = _buffer(to_right)
        _p2p([(to_right, right)], [(from_left, left)])
        return from_left

    @staticmethod
    def backward(ctx, grad_from_left: torch.Tensor) -> torch.Tensor:
        grad_to_right = _buffer(grad_from_left)
        _p2p([(grad_from_left, ctx.left)], [(grad_to_right, ctx.right)])
        return grad_to_right


class _NeighbourExchangeBidir(torch.autograd.Function):
    """Send one tensor to each neighbour and receive one from each (needs 3+ ranks so
    that the two neighbours differ); backward runs the same exchange on the gradients:
    the gradient of what came from the left goes back to the left, and so on."""

    @staticmethod
    def forward(ctx, to_left: torch.Tensor,
                to_right: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        left, right = _neighbours()
        if left == right:
            raise ValueError('the bidirectional exchange needs at least 3 ranks')
        ctx.left, ctx.right = left, right
        from_left, from_right = _buffer(to_right), _buffer(to_left)
        _p2p([(to_left, left), (to_right, right)], [(from_left, left), (from_right, right)])
        return from_left, from_right

    @staticmethod
    def backward(ctx, grad_from_left: torch.Tensor,
                 grad_from_right: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        # What we received from the left was the left rank's ``to_right``: send its
        # gradient back there; we get back the gradient of our ``to_left`` from the left.
        grad_to_left, grad_to_right = _buffer(grad_from_left), _buffer(grad_from_right)
        _p2p([(grad_from_left, ctx.left), (grad_from_right, ctx.right)],
             [(grad_to_left, ctx.left), (grad_to_right, ctx.right)])
        return grad_to_left, grad_to_right


def neighbour_exchange(to_right: torch.Tensor) -> torch.Tensor:
    """Autograd P2P shift: send ``to_right`` to rank ``r+1``, return what ``r-1`` sent.

    Every rank must call it with a tensor of the same shape and dtype.
    """
    return _NeighbourExchange.apply(to_right)


def neighbour_exchange_bidir(to_left: torch.Tensor,
                             to_right: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Autograd two-way P2P exchange with both neighbours (W >= 3).

    Returns:
        tuple[Tensor, Tensor]: ``(from_left, from_right)``, what rank ``r-1`` sent to its
        right and what rank ``r+1`` sent to its left.
    """
    return _NeighbourExchangeBidir.apply(to_left, to_right)


def iter_remote_rows(tensor: torch.Tensor, sizes: Sequence[int],
                     impl: str = 'gather') -> Iterator[Tuple[int, torch.Tensor]]:
    """Yield ``(source_rank, rows)`` for every *other* rank's rows, autograd-aware.

    ``impl='gather'``: one autograd all-gather, then the W-1 remote slices.
    ``impl='bidir'``: neighbour exchange as in open_clip's SigLIP loss: floor((W-1)/2)
    two-way rounds then, when W-1 is odd (W even), one one-way round; each round only
    keeps one or two (max(sizes), ...) buffers alive besides the consumer's graph.
    Both pad to ``max(sizes)`` and yield the rows sliced to the source's count.

    Args:
        tensor (Tensor): Local rows ``(sizes[rank], *rest)``.
        sizes (Sequence[int]): Rows per rank, identical on every rank.
        impl (str): ``'gather'`` or ``'bidir'``.

    Yields:
        tuple[int, Tensor]: Source rank and its rows; nothing when ``W == 1``.
    """
    if impl not in EXCHANGE_IMPLS:
        raise ValueError(f'impl={impl!r} is not supported, expected one of {EXCHANGE_IMPLS}')
    rank, world_size = get_dist_info()
    if world_size == 1:
        return
    max_rows = max(sizes)
    pad = tensor.new_zeros((max_rows - tensor.shape[0], ) + tuple(tensor.shape[1:]))
    padded = torch.cat([tensor, pad])
    if impl == 'gather':
        gathered = all_gather_with_grad(padded)
        for step in range(1, world_size):
            src = (rank + step) % world_size
            yield src, gathered[src, :sizes[src]]
        return
    num_bidir, remainder = divmod(world_size - 1, 2)
    to_left = to_right = padded
    for step in range(1, num_bidir + 1):
        from_left, from_right = neighbour_exchange_bidir(to_left, to_right)
        src_left, src_right = (rank - step) % world_size, (rank + step) % world_size
        yield src_left, from_left[:sizes[src_left]]
        yield src_right, from_right[:sizes[src_right]]
        to_left, to_right = from_right, from_left
    if remainder:
        from_left = neighbour_exchange(to_right)
        src = (rank - num_bidir - 1) % world_size
        yield src, from_left[:sizes[src]]
