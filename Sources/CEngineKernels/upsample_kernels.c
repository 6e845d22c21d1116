#include "upsample_kernels.h"
#include "engine_kernels.h"

/* The backward sums round as the scalar formula, in its order. */
#pragma STDC FP_CONTRACT OFF

#define KERNEL_TEMPLATE "upsample_template.h"
#include "isa_variants.h"

#define DISPATCH(kernel, ...)                                               \
    switch (dfkd_widest_variant(lanes)) {                                   \
    case DFKD_AVX512: kernel##avx512(__VA_ARGS__); break;                   \
    case DFKD_AVX2: kernel##avx2(__VA_ARGS__); break;                       \
    case DFKD_GENERIC: kernel##generic(__VA_ARGS__); break;                 \
    case DFKD_SCALAR: kernel##scalar(__VA_ARGS__); break;                   \
    }

void dfkd_upsample_nearest_2x_forward(const float *x, float *out, long planes, int height, int width, int lanes) {
    DISPATCH(upsample_forward_, x, out, planes, height, width, lanes)
}

void dfkd_upsample_nearest_2x_backward(const float *dy, float *dx, long planes, int height, int width, int lanes) {
    DISPATCH(upsample_backward_, dy, dx, planes, height, width, lanes)
}
