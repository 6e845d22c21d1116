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

typedef float f16 __attribute__((vector_size(64)));
typedef float f16u __attribute__((vector_size(64), aligned(4)));
typedef int i16 __attribute__((vector_size(64)));
typedef float f8 __attribute__((vector_size(32)));
typedef float f8u __attribute__((vector_size(32), aligned(4)));
typedef int i8 __attribute__((vector_size(32)));

/* Sixteen lanes in one AVX-512 register. */
#define SUFFIX avx512
#define TARGET __attribute__((target("avx512f")))
#define WIDTH 16
#define VEC f16
#define VECU f16u
#define MASK i16
#define SELECT(m, a, b) ((f16)(((m) & (i16)(a)) | (~(m) & (i16)(b))))
#define SPLAT(s) ((f16){0} + (s))
#define LANES(l) (l)
#include "pooling_template.h"
#undef SUFFIX
#undef TARGET

/* Eight lanes in one AVX2 register. */
#define SUFFIX avx2
#define TARGET __attribute__((target("avx2")))
#undef WIDTH
#define WIDTH 8
#undef VEC
#define VEC f8
#undef VECU
#define VECU f8u
#undef MASK
#define MASK i8
#undef SELECT
#define SELECT(m, a, b) ((f8)(((m) & (i8)(a)) | (~(m) & (i8)(b))))
#undef SPLAT
#define SPLAT(s) ((f8){0} + (s))
#include "pooling_template.h"
#undef SUFFIX
#undef TARGET

/* Eight lanes on generic x86-64, as two SSE registers. */
#define SUFFIX generic
#define TARGET
#include "pooling_template.h"
#undef SUFFIX
#undef TARGET

/* One lane: plain NCHW. */
#define SUFFIX scalar
#define TARGET
#undef WIDTH
#define WIDTH 1
#undef VEC
#define VEC float
#undef VECU
#define VECU float
#undef MASK
#define MASK int
#undef SELECT
#define SELECT(m, a, b) ((m) ? (a) : (b))
#undef SPLAT
#define SPLAT(s) ((float)(s))
#undef LANES
#define LANES(l) 1
#include "pooling_template.h"
#undef SUFFIX
#undef TARGET

enum width { SCALAR, GENERIC, AVX2, AVX512 };

static enum width widest(int lanes) {
    if (lanes % 8 != 0) return SCALAR;
    if (!dfkd_engine_kernels_use_avx2()) return GENERIC;
    return lanes % 16 == 0 && dfkd_engine_kernels_use_avx512() ? AVX512 : AVX2;
}

/* Windows that tile the input exactly cover each input once: their gradients are written
 * without zeroing the input gradient first. */
static int tiles(const dfkd_pooling_window *w) {
    return w->stride == w->kernel && w->padding == 0 && w->output_height * w->kernel == w->input_height &&
           w->output_width * w->kernel == w->input_width;
}

void dfkd_max_pool_forward(const float *x, float *out, float *positions, long planes, int lanes,
                           const dfkd_pooling_window *window) {
    switch (widest(lanes)) {
    case AVX512: max_forward_avx512(x, out, positions, planes, lanes, window); break;
    case AVX2: max_forward_avx2(x, out, positions, planes, lanes, window); break;
    case GENERIC: max_forward_generic(x, out, positions, planes, lanes, window); break;
    case SCALAR: max_forward_scalar(x, out, positions, planes, lanes, window); break;
    }
}

void dfkd_average_pool_forward(const float *x, float *out, long planes, int lanes, const dfkd_pooling_window *window) {
    switch (widest(lanes)) {
    case AVX512: average_forward_avx512(x, out, planes, lanes, window); break;
    case AVX2: average_forward_avx2(x, out, planes, lanes, window); break;
    case GENERIC: average_forward_generic(x, out, planes, lanes, window); break;
    case SCALAR: average_forward_scalar(x, out, planes, lanes, window); break;
    }
}

static void scatter(const float *dy, const float *positions, float *dx, long planes, int lanes, const dfkd_pooling_window *window) {
    const int accumulate = !tiles(window);
    switch (widest(lanes)) {
    case AVX512: scatter_avx512(dy, positions, dx, planes, lanes, window, accumulate); break;
    case AVX2: scatter_avx2(dy, positions, dx, planes, lanes, window, accumulate); break;
    case GENERIC: scatter_generic(dy, positions, dx, planes, lanes, window, accumulate); break;
    case SCALAR: scatter_scalar(dy, positions, dx, planes, lanes, window, accumulate); break;
    }
}

void dfkd_max_pool_backward(const float *dy, const float *positions, float *dx, long planes, int lanes,
                            const dfkd_pooling_window *window) {
    scatter(dy, positions, dx, planes, lanes, window);
}

void dfkd_average_pool_backward(const float *dy, float *dx, long planes, int lanes, const dfkd_pooling_window *window) {
    scatter(dy, NULL, dx, planes, lanes, window);
}
