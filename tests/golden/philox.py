"""kernels/dropout_mask.h in Python: Philox4x32-10 (Random123) and kiln's dropout mask, so the
PyTorch fixtures can apply exactly the mask kiln draws. Vectorised over element indices."""

import numpy as np

_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
_MASK32 = np.uint64(0xFFFFFFFF)


def philox4x32_10(counter, key):
    """counter: four uint32 arrays (broadcastable); key: two ints. Returns four uint32 arrays."""
    c0, c1, c2, c3 = (np.asarray(c, dtype=np.uint64) for c in counter)
    k0, k1 = key[0] & 0xFFFFFFFF, key[1] & 0xFFFFFFFF
    for round_index in range(10):
        if round_index > 0:
            k0, k1 = (k0 + _W0) & 0xFFFFFFFF, (k1 + _W1) & 0xFFFFFFFF
        product0 = _M0 * c0
        product1 = _M1 * c2
        hi0, lo0 = product0 >> np.uint64(32), product0 & _MASK32
        hi1, lo1 = product1 >> np.uint64(32), product1 & _MASK32
        c0, c1, c2, c3 = hi1 ^ c1 ^ np.uint64(k0), lo1, hi0 ^ c3 ^ np.uint64(k1), lo0
    return [c.astype(np.uint32) for c in (c0, c1, c2, c3)]


def uniforms(count, seed, step, stream):
    """kiln's uniform numbers in [0, 1) for elements 0..count-1: element i takes lane i % 4 of
    Philox4x32-10 at counter {group lo, group hi, stream, step} with group = i / 4, key = seed;
    the top 24 bits of the lane make the float."""
    index = np.arange(count, dtype=np.uint64)
    group = index // np.uint64(4)
    lanes = philox4x32_10([group & _MASK32, group >> np.uint64(32),
                           np.full_like(group, stream), np.full_like(group, step & 0xFFFFFFFF)],
                          [seed & 0xFFFFFFFF, seed >> 32])
    bits = np.choose((index % np.uint64(4)).astype(np.int64), lanes)
    return (bits >> np.uint32(8)).astype(np.float32) * np.float32(2.0 ** -24)


def dropout_keep_mask(count, p, seed, step, mask_stream):
    """Boolean mask of `count` elements: True where kiln's dropout keeps the element."""
    return uniforms(count, seed, step, mask_stream) >= np.float32(p)


def uniform_init(shape, bound, seed, stream):
    """Parameters drawn from U(-bound, bound) as kiln initialises them: (2u - 1) * bound in
    double, rounded to float32 once."""
    u = uniforms(int(np.prod(shape)), seed, 0, stream).astype(np.float64)
    return ((2.0 * u - 1.0) * bound).astype(np.float32).reshape(shape)


def _self_test():
    # Random123's known-answer vectors (kat_vectors, philox4x32 10).
    cases = [([0, 0, 0, 0], [0, 0], [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]),
             ([0xFFFFFFFF] * 4, [0xFFFFFFFF] * 2, [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]),
             ([0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344], [0xA4093822, 0x299F31D0],
              [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1])]
    for counter, key, expected in cases:
        got = [int(x) for x in philox4x32_10([np.uint32(c) for c in counter], key)]
        assert got == expected, f"philox4x32_10({counter}, {key}) = {got}, expected {expected}"


_self_test()
