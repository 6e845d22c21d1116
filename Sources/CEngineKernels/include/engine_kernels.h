#ifndef DFKD_ENGINE_KERNELS_H
#define DFKD_ENGINE_KERNELS_H

/* Compute kernels of the tensor engine written in C, so that they can use AVX2 and FMA
 * where the CPU has them (chosen at run time) while the rest of the build stays generic
 * x86-64. */

/* The few-channel convolution kernels: stride 1, ungrouped, activations in plain NCHW and
 * weights in OIHW; for convolutions with few input or output channels (an image's, a
 * generator's last layer), which channel-blocked kernels would pad to 8 or 16. They run
 * AVX-512, AVX2 + FMA or generic x86-64 code, as the CPU allows. Their work buffers are
 * allocated and freed inside; each returns 0, or -1 when those could not be allocated. */

/* The forward pass, padding (below the kernel size) on every side:
 *   y[n][o][i][j] = bias[o] + sum over c, kh, kw of x[n][c][i + kh - padding][j + kw - padding] * w[o][c][kh][kw]
 * (zero outside x); bias may be NULL. x is (batch, channels, height, width), y (batch,
 * outputs, output_height, output_width). */
int dfkd_few_channel_forward(const float *x, const float *w, const float *bias, float *y,
                             int batch, int channels, int height, int width,
                             int outputs, int kernel_height, int kernel_width,
                             int output_height, int output_width, int padding);

/* The weight gradient, summed over the batch, and the bias gradient where db is not NULL:
 *   dw[o][c][kh][kw] = sum over n, h, w of dy[n][o][h][w] * x[n][c][h + kh - padding][w + kw - padding]
 *   db[o] = sum over n, h, w of dy[n][o][h][w] */
int dfkd_few_channel_weight_gradient(const float *x, const float *dy, float *dw, float *db,
                                     int batch, int channels, int height, int width,
                                     int outputs, int kernel_height, int kernel_width,
                                     int output_height, int output_width, int padding);

/* The input gradient (padding below the kernel size):
 *   dx[n][c][i][j] = sum over o, kh, kw of dy[n][o][i + padding - kh][j + padding - kw] * w[o][c][kh][kw]
 * (zero outside dy). */
int dfkd_few_channel_input_gradient(const float *dy, const float *w, float *dx,
                                    int batch, int channels, int height, int width,
                                    int outputs, int kernel_height, int kernel_width,
                                    int output_height, int output_width, int padding);

/* Whether the C kernels run their AVX2 + FMA versions: the CPU has them and they are
 * allowed (the default; tests turn them off to check the generic versions on any CPU). */
int dfkd_engine_kernels_use_avx2(void);
void dfkd_engine_kernels_allow_avx2(int allowed);

/* Whether those that have AVX-512 versions (pooling, channel, element-wise, few-channel and
 * Winograd kernels) run them: AVX2 is allowed, the CPU has AVX-512F and DNNL_MAX_CPU_ISA,
 * where set, allows AVX-512 (oneDNN's own limit: AVX2 makes the whole engine run as on an
 * AVX2 machine). */
int dfkd_engine_kernels_use_avx512(void);

/* Keeps the kernels on AVX2 where the CPU has AVX-512 (tests check both on one machine). */
void dfkd_engine_kernels_allow_avx512(int allowed);

#endif
