#include "pooling_kernels.h"
#include "engine_kernels.h"

#include <string.h>

/* Window rows (or columns) of an output whose window starts at input row `start` (negative
 * in the padding) that lie inside an input of `size`: first..<end. */
static inline int window_first(int start) { return start < 0 ? -start : 0; }
static inline int window_end(int start, int kernel, int size) { return size - start < kernel ? size - start : kernel; }

/* 2 x 2 windows at stride 2 that cover the input exactly. */
static inline int is_whole_2x2(const dfkd_pooling_window *w) {
    return w->kernel == 2 && w->stride == 2 && w->padding == 0 && w->input_height == 2 * w->output_height &&
           w->input_width == 2 * w->output_width;
}

#define KERNEL_TEMPLATE "pooling_template.h"
#include "isa_variants.h"

/* Whether plain tensors take the vectorised 2 x 2 loops (AVX2, or generic as two SSE
 * registers): their rows need at least eight outputs. */
static inline int plain_2x2(int lanes, const dfkd_pooling_window *w) {
    return lanes == 1 && is_whole_2x2(w) && w->output_width >= 8;
}

/* Windows that tile the input exactly cover each input once: their gradients are written
 * without zeroing the input gradient first. */
static int tiles(const dfkd_pooling_window *w) {
    return w->stride == w->kernel && w->padding == 0 && w->output_height * w->kernel == w->input_height &&
           w->output_width * w->kernel == w->input_width;
}

void dfkd_max_pool_forward(const float *x, float *out, float *positions, long planes, int lanes,
                           const dfkd_pooling_window *window) {
    if (plain_2x2(lanes, window)) {
        if (dfkd_engine_kernels_use_avx2()) max_forward_plain_2x2_avx2(x, out, positions, planes, window);
        else max_forward_plain_2x2_generic(x, out, positions, planes, window);
        return;
    }
    switch (dfkd_widest_variant(lanes)) {
    case DFKD_AVX512: max_forward_avx512(x, out, positions, planes, lanes, window); break;
    case DFKD_AVX2: max_forward_avx2(x, out, positions, planes, lanes, window); break;
    case DFKD_GENERIC: max_forward_generic(x, out, positions, planes, lanes, window); break;
    case DFKD_SCALAR: max_forward_scalar(x, out, positions, planes, lanes, window); break;
    }
}

void dfkd_average_pool_forward(const float *x, float *out, long planes, int lanes, const dfkd_pooling_window *window) {
    switch (dfkd_widest_variant(lanes)) {
    case DFKD_AVX512: average_forward_avx512(x, out, planes, lanes, window); break;
    case DFKD_AVX2: average_forward_avx2(x, out, planes, lanes, window); break;
    case DFKD_GENERIC: average_forward_generic(x, out, planes, lanes, window); break;
    case DFKD_SCALAR: average_forward_scalar(x, out, planes, lanes, window); break;
    }
}

static void scatter(const float *dy, const float *positions, float *dx, long planes, int lanes, const dfkd_pooling_window *window) {
    if (plain_2x2(lanes, window)) {
        if (dfkd_engine_kernels_use_avx2()) scatter_plain_2x2_avx2(dy, positions, dx, planes, window);
        else scatter_plain_2x2_generic(dy, positions, dx, planes, window);
        return;
    }
    const int accumulate = !tiles(window);
    switch (dfkd_widest_variant(lanes)) {
    case DFKD_AVX512: scatter_avx512(dy, positions, dx, planes, lanes, window, accumulate); break;
    case DFKD_AVX2: scatter_avx2(dy, positions, dx, planes, lanes, window, accumulate); break;
    case DFKD_GENERIC: scatter_generic(dy, positions, dx, planes, lanes, window, accumulate); break;
    case DFKD_SCALAR: scatter_scalar(dy, positions, dx, planes, lanes, window, accumulate); break;
    }
}

void dfkd_max_pool_backward(const float *dy, const float *positions, float *dx, long planes, int lanes,
                            const dfkd_pooling_window *window) {
    scatter(dy, positions, dx, planes, lanes, window);
}

void dfkd_average_pool_backward(const float *dy, float *dx, long planes, int lanes, const dfkd_pooling_window *window) {
    scatter(dy, NULL, dx, planes, lanes, window);
}
