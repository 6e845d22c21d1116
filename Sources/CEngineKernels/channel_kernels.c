#include "channel_kernels.h"
#include "engine_kernels.h"

#include <string.h>

/* Never fuse a multiplication and an addition: the kernels round as the scalar formula does,
 * the same on every instruction set. */
#pragma STDC FP_CONTRACT OFF

/* Adds the plane of image `image` into a channel's running sum and sum of squared
 * deviations from the running mean (Chan, Golub and LeVeque's pairwise update, in double).
 * The plane has `pixels` values; plane_mean is their float sum divided by `pixels`, and
 * their deviations from it and the squares of those sum to deviation_sum and squares. The
 * plane's mean is taken as plane_mean + deviation_sum / pixels: the float sum of a plane
 * rounds by more than its deviations do, and image means that far off would show in the
 * variance between images. The planes before it hold image * pixels values. */
static void combine_plane(long image, long pixels, float plane_mean, float deviation_sum, float squares, double *sum,
                          double *deviations) {
    const double n = (double)pixels, offset = (double)deviation_sum / n;
    const double mean = (double)plane_mean + offset, spread = (double)squares - offset * (double)deviation_sum;
    if (image == 0) {
        *sum = n * mean;
        *deviations = spread;
        return;
    }
    const double before = (double)image * n, delta = mean - *sum / before;
    *deviations += spread + delta * delta * (before * n / (before + n));
    *sum += n * mean;
}

#define KERNEL_TEMPLATE "channel_template.h"
#include "isa_variants.h"

/* Element-wise kernels take the widest vectors the CPU allows, whatever the layout. */
static enum dfkd_variant elementwise_variant(void) { return dfkd_widest_variant(16); }

/* Calls kernel##variant(...) for the variant `variant` names. */
#define DISPATCH(variant, kernel, ...)                                      \
    switch (variant) {                                                      \
    case DFKD_AVX512: kernel##avx512(__VA_ARGS__); break;                   \
    case DFKD_AVX2: kernel##avx2(__VA_ARGS__); break;                       \
    case DFKD_GENERIC: kernel##generic(__VA_ARGS__); break;                 \
    case DFKD_SCALAR: kernel##scalar(__VA_ARGS__); break;                   \
    }

void dfkd_channel_sums(const float *x, const float *dy, const float *mean, const float *gate_scale,
                       const float *gate_offset, long images, int blocks, int lanes, long pixels, int channels,
                       double *first, double *second) {
    memset(first, 0, sizeof(double) * (size_t)channels);
    memset(second, 0, sizeof(double) * (size_t)channels);
    DISPATCH(dfkd_widest_variant(lanes), channel_sums_, x, dy, mean, gate_scale, gate_offset, images, blocks, lanes, pixels,
             channels, first, second)
}

void dfkd_channel_moments(const float *x, long images, int blocks, int lanes, long pixels, int channels, double *sum,
                          double *deviations) {
    memset(sum, 0, sizeof(double) * (size_t)channels);
    memset(deviations, 0, sizeof(double) * (size_t)channels);
    DISPATCH(dfkd_widest_variant(lanes), channel_moments_, x, images, blocks, lanes, pixels, channels, sum, deviations)
}

void dfkd_channel_affine(const float *dy, const float *x, float *out, const float *dy_scale, const float *x_scale,
                         const float *offset, const float *gate_scale, const float *gate_offset, int rectify,
                         long images, int blocks, int lanes, long pixels) {
    if (!dy) gate_scale = gate_offset = NULL;
    else rectify = 0;
    if (lanes == 1) {
        DISPATCH(elementwise_variant(), affine_plain_, dy, x, out, dy_scale, x_scale, offset, gate_scale, gate_offset, rectify,
                 images, blocks, pixels)
    } else {
        DISPATCH(dfkd_widest_variant(lanes), channel_affine_, dy, x, out, dy_scale, x_scale, offset, gate_scale, gate_offset,
                 rectify, images, blocks, lanes, pixels)
    }
}

#define DISPATCH_ELEMENTWISE(kernel, ...) DISPATCH(elementwise_variant(), kernel, __VA_ARGS__)

void dfkd_relu_forward(const float *x, float *out, long count) { DISPATCH_ELEMENTWISE(relu_forward_, x, out, count) }
void dfkd_relu_backward(const float *dy, const float *y, float *dx, long count) {
    DISPATCH_ELEMENTWISE(relu_backward_, dy, y, dx, count)
}
void dfkd_leaky_relu_forward(const float *x, float *out, long count, float slope) {
    DISPATCH_ELEMENTWISE(leaky_relu_forward_, x, out, count, slope)
}
void dfkd_leaky_relu_backward(const float *dy, const float *y, float *dx, long count, float slope) {
    DISPATCH_ELEMENTWISE(leaky_relu_backward_, dy, y, dx, count, slope)
}
void dfkd_add(const float *a, const float *b, float *out, long count) { DISPATCH_ELEMENTWISE(add_, a, b, out, count) }
void dfkd_add_in_place(float *target, const float *value, long count) {
    DISPATCH_ELEMENTWISE(add_in_place_, target, value, count)
}
