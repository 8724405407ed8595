// The matrix product the CPU backend's convolutions and linear layers are made of, on OpenBLAS.
// OpenBLAS's own threads are switched off: the ops call it from their pieces (kernels/cpu/
// parallel.h), and one product's result then never depends on how many threads computed it.
#pragma once

namespace kiln::cpu {

enum class Transpose : bool { no, yes };

// Row-major C = op(A) op(B) + beta C, with op(A) [m x k], op(B) [k x n], C [m x n] and lda, ldb,
// ldc the row strides of A, B and C as stored. beta = 0 overwrites C.
void matrix_product(Transpose transpose_a, Transpose transpose_b, int m, int n, int k,
                    const float* a, int lda, const float* b, int ldb, float beta, float* c,
                    int ldc);

}  // namespace kiln::cpu
