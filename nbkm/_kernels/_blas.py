"""The matrix product of the kernels, one direct call to BLAS's ``gemm``.

``np.dot`` in Numba checks and dispatches on its arguments' shapes and layouts,
and every parallel kernel that uses it compiles that code again: about 0.35 s of
compile time per kernel (docs/performance.md, compile time). The kernels only
multiply C-contiguous matrices of one float dtype, so :func:`matmul` calls the
routine ``np.dot`` ends in (Numba's ``numba_xxgemm``, which calls SciPy's BLAS)
with the same arguments, and gives the same bits.
"""

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.core.errors import TypingError
from numba.extending import intrinsic, overload
from numba.np.linalg import (
    check_blas_return,
    ensure_blas,
    get_blas_kind,
    make_constant_slot,
)

ensure_blas()  # SciPy's BLAS, which numba_xxgemm calls, is importable

_CHAR = ir.IntType(8)
_VOID_P = ir.IntType(8).as_pointer()


def _check_operands(a, b, out):
    for arg in (a, b, out):
        if not (
            isinstance(arg, types.Array)
            and arg.ndim == 2
            and arg.layout == "C"
            and arg.dtype == a.dtype
            and arg.dtype in (types.float32, types.float64)
        ):
            raise TypingError(
                "gemm_into takes C-contiguous 2-D float32 or float64 arrays of "
                f"one dtype, got {a}, {b}, {out}"
            )


@intrinsic
def gemm_into(typingctx, a, b, out):
    """``out[...] = a @ b``; ``a`` (m, k), ``b`` (k, n), ``out`` (m, n), k >= 1.

    Row-major ``a @ b`` is column-major ``b^T a^T``: the call ``np.dot`` makes.
    """
    _check_operands(a, b, out)
    sig = types.void(a, b, out)

    def codegen(context, builder, signature, args):
        intp = context.get_value_type(types.intp)
        fnty = ir.FunctionType(
            ir.IntType(32),
            [_CHAR, _CHAR, _CHAR, intp, intp, intp]
            + [_VOID_P, _VOID_P, intp, _VOID_P, intp, _VOID_P, _VOID_P, intp],
        )
        gemm = cgutils.get_or_insert_function(builder.module, fnty, "numba_xxgemm")
        ta, tb, tout = signature.args
        arr_a = context.make_array(ta)(context, builder, args[0])
        arr_b = context.make_array(tb)(context, builder, args[1])
        arr_out = context.make_array(tout)(context, builder, args[2])
        m, k = cgutils.unpack_tuple(builder, arr_a.shape, 2)
        n = cgutils.unpack_tuple(builder, arr_b.shape, 2)[1]
        dtype = ta.dtype
        alpha = make_constant_slot(context, builder, dtype, 1.0)
        beta = make_constant_slot(context, builder, dtype, 0.0)
        no_transpose = ir.Constant(_CHAR, ord("n"))
        status = builder.call(
            gemm,
            (
                ir.Constant(_CHAR, ord(get_blas_kind(dtype))),
                no_transpose,
                no_transpose,
                n,
                m,
                k,
                builder.bitcast(alpha, _VOID_P),
                builder.bitcast(arr_b.data, _VOID_P),
                n,
                builder.bitcast(arr_a.data, _VOID_P),
                k,
                builder.bitcast(beta, _VOID_P),
                builder.bitcast(arr_out.data, _VOID_P),
                n,
            ),
        )
        check_blas_return(context, builder, status)

    return sig, codegen


def matmul(a, b):
    """Return ``a @ b`` for C-contiguous float matrices of one dtype, by BLAS.

    Parameters
    ----------
    a : ndarray of float32 or float64, shape (m, k), C-contiguous
    b : ndarray, shape (k, n), same dtype, C-contiguous

    Returns
    -------
    out : ndarray, shape (m, n), same dtype
    """
    return np.dot(a, b)  # run as Python (NUMBA_DISABLE_JIT=1); compiled below


def _matmul_gemm(a, b):
    out = np.empty((a.shape[0], b.shape[1]), dtype=a.dtype)
    gemm_into(a, b, out)
    return out


@overload(matmul, jit_options={"cache": True, "nogil": True})
def _matmul_overload(a, b):
    return _matmul_gemm
