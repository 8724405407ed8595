#include "kernels/cpu/blas.h"

#include <cblas.h>

#include <mutex>

namespace kiln::cpu {

void matrix_product(Transpose transpose_a, Transpose transpose_b, int m, int n, int k,
                    const float* a, int lda, const float* b, int ldb, float beta, float* c,
                    int ldc) {
  static std::once_flag single_threaded;
  std::call_once(single_threaded, [] { openblas_set_num_threads(1); });
  const auto blas_transpose = [](Transpose t) {
    return t == Transpose::yes ? CblasTrans : CblasNoTrans;
  };
  cblas_sgemm(CblasRowMajor, blas_transpose(transpose_a), blas_transpose(transpose_b), m, n, k,
              1.0f, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace kiln::cpu
