#include "engine_kernels.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Eight floats; an unaligned variant for loads at any float offset. */
typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4)));

/* Macros rather than functions: a vector passed by value outside the AVX functions would
 * change the calling convention with the target. */
#define LOAD8(p) (*(const v8u *)(p))
#define SUM8(v) ((((v)[0] + (v)[1]) + ((v)[2] + (v)[3])) + (((v)[4] + (v)[5]) + ((v)[6] + (v)[7])))

/* One image's contribution, with `vectors` (1 to 4, or any with VECTORS 0) eight-column
 * vectors per output row; a compile-time VECTORS lets the gradient rows stay in registers. */
static inline __attribute__((always_inline)) void accumulate_image(
    const float *image, const float *gradient, v8 *sums, int channels, int outputs,
    int kernel_height, int kernel_width, int output_height, int padded_height, int padded_width,
    int row_length, int vectors, const int VECTORS) {
    const int count = VECTORS ? VECTORS : vectors;
    for (int h = 0; h < output_height; h++) {
        for (int o = 0; o < outputs; o++) {
            const float *d = gradient + ((long)o * output_height + h) * row_length;
            v8 dv[4];
            if (VECTORS)
                for (int v = 0; v < VECTORS; v++) dv[v] = LOAD8(d + 8 * v);
            for (int c = 0; c < channels; c++) {
                for (int kh = 0; kh < kernel_height; kh++) {
                    const float *row = image + ((long)c * padded_height + h + kh) * padded_width;
                    v8 *tap = sums + ((long)(o * channels + c) * kernel_height + kh) * kernel_width;
                    for (int kw = 0; kw < kernel_width; kw++) {
                        v8 s = {0, 0, 0, 0, 0, 0, 0, 0};
                        for (int v = 0; v < count; v++)
                            s += (VECTORS ? dv[v] : LOAD8(d + 8 * v)) * LOAD8(row + kw + 8 * v);
                        tap[kw] += s;
                    }
                }
            }
        }
    }
}

static inline __attribute__((always_inline)) int weight_gradient(
    const float *x, const float *dy, float *dw, int batch, int channels, int height, int width,
    int outputs, int kernel_height, int kernel_width, int output_height, int output_width, int padding) {
    const int vectors = (output_width + 7) / 8;
    const int row_length = vectors * 8;
    /* A padded row holds the padding, the input row and the reach of the last vector;
     * gradient rows are zero beyond the output width. */
    const int padded_width = row_length + kernel_width - 1;
    const int padded_height = output_height + kernel_height - 1;
    const long taps = (long)outputs * channels * kernel_height * kernel_width;
    float *image = calloc((size_t)channels * padded_height * padded_width, sizeof(float));
    float *gradient = calloc((size_t)outputs * output_height * row_length, sizeof(float));
    v8 *sums = aligned_alloc(32, (size_t)taps * sizeof(v8));
    if (!image || !gradient || !sums) {
        free(image);
        free(gradient);
        free(sums);
        return -1;
    }
    memset(sums, 0, (size_t)taps * sizeof(v8));
    for (int n = 0; n < batch; n++) {
        for (int c = 0; c < channels; c++)
            for (int h = 0; h < height; h++)
                memcpy(image + ((long)c * padded_height + h + padding) * padded_width + padding,
                       x + (((long)n * channels + c) * height + h) * width, sizeof(float) * width);
        for (int o = 0; o < outputs; o++)
            for (int h = 0; h < output_height; h++)
                memcpy(gradient + ((long)o * output_height + h) * row_length,
                       dy + (((long)n * outputs + o) * output_height + h) * output_width, sizeof(float) * output_width);
        switch (vectors) {
        case 1: accumulate_image(image, gradient, sums, channels, outputs, kernel_height, kernel_width, output_height,
                                 padded_height, padded_width, row_length, vectors, 1); break;
        case 2: accumulate_image(image, gradient, sums, channels, outputs, kernel_height, kernel_width, output_height,
                                 padded_height, padded_width, row_length, vectors, 2); break;
        case 3: accumulate_image(image, gradient, sums, channels, outputs, kernel_height, kernel_width, output_height,
                                 padded_height, padded_width, row_length, vectors, 3); break;
        case 4: accumulate_image(image, gradient, sums, channels, outputs, kernel_height, kernel_width, output_height,
                                 padded_height, padded_width, row_length, vectors, 4); break;
        default: accumulate_image(image, gradient, sums, channels, outputs, kernel_height, kernel_width, output_height,
                                  padded_height, padded_width, row_length, vectors, 0); break;
        }
    }
    for (long t = 0; t < taps; t++) dw[t] = SUM8(sums[t]);
    free(image);
    free(gradient);
    free(sums);
    return 0;
}

__attribute__((target("avx2,fma")))
static int weight_gradient_avx2(const float *x, const float *dy, float *dw, int batch, int channels, int height, int width,
                                int outputs, int kernel_height, int kernel_width, int output_height, int output_width, int padding) {
    return weight_gradient(x, dy, dw, batch, channels, height, width, outputs, kernel_height, kernel_width,
                           output_height, output_width, padding);
}

static int weight_gradient_generic(const float *x, const float *dy, float *dw, int batch, int channels, int height, int width,
                                   int outputs, int kernel_height, int kernel_width, int output_height, int output_width, int padding) {
    return weight_gradient(x, dy, dw, batch, channels, height, width, outputs, kernel_height, kernel_width,
                           output_height, output_width, padding);
}

/* One image's input gradient, `vectors` eight-column vectors per input row (a compile-time
 * VECTORS of 1 to 4 keeps the sums in registers; 0 for any count). */
static inline __attribute__((always_inline)) void input_gradient_image(
    const float *gradient, const float *w, float *dx, float *row_sums, int channels, int height, int width,
    int outputs, int kernel_height, int kernel_width, int padded_height, int padded_width, int vectors, const int VECTORS) {
    const int count = VECTORS ? VECTORS : vectors;
    for (int c = 0; c < channels; c++) {
        for (int h = 0; h < height; h++) {
            v8 sums[4] = {{0}};
            if (!VECTORS) memset(row_sums, 0, sizeof(float) * 8 * count);
            for (int o = 0; o < outputs; o++) {
                for (int kh = 0; kh < kernel_height; kh++) {
                    const float *row = gradient + ((long)o * padded_height + h + kernel_height - 1 - kh) * padded_width;
                    const float *taps = w + (((long)o * channels + c) * kernel_height + kh) * kernel_width;
                    for (int kw = 0; kw < kernel_width; kw++) {
                        const float tap = taps[kw];
                        const float *start = row + kernel_width - 1 - kw;
                        if (VECTORS) {
                            for (int v = 0; v < VECTORS; v++) sums[v] += tap * LOAD8(start + 8 * v);
                        } else {
                            for (int v = 0; v < count; v++)
                                *(v8u *)(row_sums + 8 * v) += tap * LOAD8(start + 8 * v);
                        }
                    }
                }
            }
            float *out = dx + ((long)c * height + h) * width;
            if (VECTORS) {
                float line[32];
                for (int v = 0; v < VECTORS; v++) *(v8u *)(line + 8 * v) = sums[v];
                memcpy(out, line, sizeof(float) * width);
            } else {
                memcpy(out, row_sums, sizeof(float) * width);
            }
        }
    }
}

static inline __attribute__((always_inline)) int input_gradient(
    const float *dy, const float *w, float *dx, int batch, int channels, int height, int width,
    int outputs, int kernel_height, int kernel_width, int output_height, int output_width, int padding) {
    const int vectors = (width + 7) / 8;
    /* The output gradient of each image, zero-padded so that every input position reads a
     * full kernel window of it: kernel - 1 - padding rows and columns before, the rest after. */
    const int top = kernel_height - 1 - padding, left = kernel_width - 1 - padding;
    const int padded_height = height + kernel_height - 1;
    const int padded_width = vectors * 8 + kernel_width - 1;
    float *gradient = calloc((size_t)outputs * padded_height * padded_width, sizeof(float));
    float *row_sums = malloc(sizeof(float) * 8 * (size_t)vectors);
    if (!gradient || !row_sums) {
        free(gradient);
        free(row_sums);
        return -1;
    }
    for (int n = 0; n < batch; n++) {
        for (int o = 0; o < outputs; o++)
            for (int h = 0; h < output_height; h++)
                memcpy(gradient + ((long)o * padded_height + h + top) * padded_width + left,
                       dy + (((long)n * outputs + o) * output_height + h) * output_width, sizeof(float) * output_width);
        float *image = dx + (long)n * channels * height * width;
        switch (vectors) {
        case 1: input_gradient_image(gradient, w, image, row_sums, channels, height, width, outputs, kernel_height, kernel_width,
                                     padded_height, padded_width, vectors, 1); break;
        case 2: input_gradient_image(gradient, w, image, row_sums, channels, height, width, outputs, kernel_height, kernel_width,
                                     padded_height, padded_width, vectors, 2); break;
        case 3: input_gradient_image(gradient, w, image, row_sums, channels, height, width, outputs, kernel_height, kernel_width,
                                     padded_height, padded_width, vectors, 3); break;
        case 4: input_gradient_image(gradient, w, image, row_sums, channels, height, width, outputs, kernel_height, kernel_width,
                                     padded_height, padded_width, vectors, 4); break;
        default: input_gradient_image(gradient, w, image, row_sums, channels, height, width, outputs, kernel_height, kernel_width,
                                      padded_height, padded_width, vectors, 0); break;
        }
    }
    free(gradient);
    free(row_sums);
    return 0;
}

__attribute__((target("avx2,fma")))
static int input_gradient_avx2(const float *dy, const float *w, float *dx, int batch, int channels, int height, int width,
                               int outputs, int kernel_height, int kernel_width, int output_height, int output_width, int padding) {
    return input_gradient(dy, w, dx, batch, channels, height, width, outputs, kernel_height, kernel_width,
                          output_height, output_width, padding);
}

static int input_gradient_generic(const float *dy, const float *w, float *dx, int batch, int channels, int height, int width,
                                  int outputs, int kernel_height, int kernel_width, int output_height, int output_width, int padding) {
    return input_gradient(dy, w, dx, batch, channels, height, width, outputs, kernel_height, kernel_width,
                          output_height, output_width, padding);
}

static _Atomic int avx2_allowed = 1;

void dfkd_engine_kernels_allow_avx2(int allowed) { avx2_allowed = allowed; }

int dfkd_engine_kernels_use_avx2(void) {
    __builtin_cpu_init();
    return avx2_allowed && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* DNNL_MAX_CPU_ISA below AVX-512 (AVX2, say) keeps oneDNN off its AVX-512 kernels; the
 * engine's follow it, so that one variable makes an AVX-512 machine compute as an AVX2 one. */
static int isa_cap_allows_avx512(void) {
    static _Atomic int cached = -1;
    if (cached < 0) {
        const char *cap = getenv("DNNL_MAX_CPU_ISA");
        cached = !cap || !*cap || strncasecmp(cap, "avx512", 6) == 0 || strcasecmp(cap, "all") == 0 || strncasecmp(cap, "amx", 3) == 0;
    }
    return cached;
}

int dfkd_engine_kernels_use_avx512(void) {
    return dfkd_engine_kernels_use_avx2() && __builtin_cpu_supports("avx512f") && isa_cap_allows_avx512();
}

int dfkd_few_channel_weight_gradient(const float *x, const float *dy, float *dw, int batch, int channels, int height, int width,
                                     int outputs, int kernel_height, int kernel_width, int output_height, int output_width, int padding) {
    return (dfkd_engine_kernels_use_avx2() ? weight_gradient_avx2 : weight_gradient_generic)(x, dy, dw, batch, channels, height, width, outputs,
                                                                    kernel_height, kernel_width, output_height, output_width, padding);
}

int dfkd_few_channel_input_gradient(const float *dy, const float *w, float *dx, int batch, int channels, int height, int width,
                                    int outputs, int kernel_height, int kernel_width, int output_height, int output_width, int padding) {
    return (dfkd_engine_kernels_use_avx2() ? input_gradient_avx2 : input_gradient_generic)(dy, w, dx, batch, channels, height, width,
                                                                                          outputs, kernel_height, kernel_width,
                                                                                          output_height, output_width, padding);
}
