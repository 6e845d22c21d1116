#ifndef DFKD_WINOGRAD_KERNELS_H
#define DFKD_WINOGRAD_KERNELS_H

/* Winograd F(4x4, 3x3) convolutions: 3x3 kernels at stride 1, no groups, any padding up to
 * 2, on channel-blocked activations (nChw8c or nChw16c: `lanes` channels per block, the
 * channel counts multiples of it) and OIHW weights. Each 4x4 block of outputs costs 36
 * multiply-adds per channel pair instead of 144. AVX-512 code on 16-channel blocks where the
 * CPU has it, AVX2 and FMA code where it has those (chosen at run time, as
 * dfkd_engine_kernels_use_avx512 and _avx2 say), generic x86-64 code elsewhere; the AVX-512
 * and AVX2 code give the same bits. The work buffers are allocated and freed inside. Each
 * returns 0, or -1 when they could not be allocated. */

/* y[n][o][i][j] = bias[o] + sum over c, a, b of w[o][c][a][b] * x[n][c][i + a - padding][j + b - padding]
 * (zero outside x), plus residual[n][o][i][j] (laid out as y), rounded as an addition after the
 * convolution; bias and residual may be NULL. */
int dfkd_winograd_forward(const float *x, const float *w, const float *bias, const float *residual, float *y,
                          int batch, int channels, int height, int width,
                          int outputs, int output_height, int output_width, int padding, int lanes);

/* dx[n][c][i][j] = sum over o, a, b of dy[n][o][i + padding - a][j + padding - b] * w[o][c][a][b]
 * (zero outside dy). */
int dfkd_winograd_backward_data(const float *dy, const float *w, float *dx,
                                int batch, int channels, int height, int width,
                                int outputs, int output_height, int output_width, int padding, int lanes);

/* dw[o][c][a][b] = sum over n, i, j of dy[n][o][i][j] * x[n][c][i + a - padding][j + b - padding];
 * db[o] = sum over n, i, j of dy[n][o][i][j] where db is not NULL. */
int dfkd_winograd_backward_weights(const float *x, const float *dy, float *dw, float *db,
                                   int batch, int channels, int height, int width,
                                   int outputs, int output_height, int output_width, int padding, int lanes);

#endif
