#ifndef DFKD_CHANNEL_KERNELS_H
#define DFKD_CHANNEL_KERNELS_H

/* Per-channel and element-wise kernels of batch normalisation and the activations, on
 * tensors stored as [images][channel blocks][pixels][lanes]: `lanes` is 1 for plain NCHW and
 * 8 or 16 for channel-blocked layouts, where lanes past the last channel are padding.
 * Per-channel coefficient arrays hold blocks x lanes floats, zero in the padding lanes.
 * Every kernel rounds as the scalar loop over its formula does, multiplications and
 * additions separately (never fused), in the same order: the results are the same on every
 * instruction set. AVX-512 or AVX2 code is chosen at run time (dfkd_engine_kernels_allow_avx2). */

/* Per channel, over every pixel of every image, accumulated in float within an image and
 * in double across images: first = sum(g), second = sum(g * (x - mean)), where g is dy, or,
 * given gate_scale and gate_offset (blocks x lanes, both or neither), dy where
 * gate_scale * x + gate_offset > 0 and 0 elsewhere: the gradient through a ReLU of that
 * affine map, rounded as dfkd_channel_affine rounds it. mean (blocks x lanes) may be NULL
 * for zero. first and second (channels) are overwritten. */
void dfkd_channel_sums(const float *x, const float *dy, const float *mean, const float *gate_scale,
                       const float *gate_offset, long images, int blocks, int lanes, long pixels, int channels,
                       double *first, double *second);

/* Per channel, over every pixel of every image, with one pass over memory: sum = sum(x) and
 * deviations = sum((x - mean)^2), mean = sum / count. Each image's plane of a block is read
 * twice while in the cache, the second time about its own mean (float within the plane),
 * and the planes combine in double; the results are the same on every instruction set and
 * in every layout. sum and deviations (channels) are overwritten. */
void dfkd_channel_moments(const float *x, long images, int blocks, int lanes, long pixels, int channels, double *sum,
                          double *deviations);

/* Without dy: out = x_scale * x + offset per channel, and with `rectify` 0 wherever that is
 * not above 0 (ReLU). With dy: out = (dy_scale * g + x_scale * x) + offset, g being dy gated
 * as in dfkd_channel_sums when gate_scale and gate_offset are given. dy, x and out share the
 * layout. */
void dfkd_channel_affine(const float *dy, const float *x, float *out, const float *dy_scale, const float *x_scale,
                         const float *offset, const float *gate_scale, const float *gate_offset, int rectify,
                         long images, int blocks, int lanes, long pixels);

/* Element-wise over `count` floats: ReLU (a NaN stays NaN), its gradient given the output
 * (dy where y > 0, else 0), leaky ReLU with a positive slope and its gradient given the
 * output, and sums. */
void dfkd_relu_forward(const float *x, float *out, long count);
void dfkd_relu_backward(const float *dy, const float *y, float *dx, long count);
void dfkd_leaky_relu_forward(const float *x, float *out, long count, float slope);
void dfkd_leaky_relu_backward(const float *dy, const float *y, float *dx, long count, float slope);
void dfkd_add(const float *a, const float *b, float *out, long count);
void dfkd_add_in_place(float *target, const float *value, long count);

#endif
