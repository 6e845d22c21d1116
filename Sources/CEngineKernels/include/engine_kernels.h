#ifndef DFKD_ENGINE_KERNELS_H
#define DFKD_ENGINE_KERNELS_H

/* Compute kernels of the tensor engine written in C, so that they can use AVX2 and FMA
 * where the CPU has them (chosen at run time) while the rest of the build stays generic
 * x86-64. */

/* The weight gradient of a stride-1, ungrouped convolution, summed over the batch:
 *   dw[o][c][kh][kw] = sum over n, h, w of dy[n][o][h][w] * x[n][c][h + kh - padding][w + kw - padding]
 * (zero outside the input). x is NCHW (batch, channels, height, width), dy NCHW (batch,
 * outputs, output_height, output_width), dw OIHW (outputs, channels, kernel_height,
 * kernel_width). The work buffers are allocated and freed inside. Returns 0, or -1 when
 * they could not be allocated. */
int dfkd_few_channel_weight_gradient(const float *x, const float *dy, float *dw,
                                     int batch, int channels, int height, int width,
                                     int outputs, int kernel_height, int kernel_width,
                                     int output_height, int output_width, int padding);

/* The input gradient of the same convolution (padding below the kernel size):
 *   dx[n][c][i][j] = sum over o, kh, kw of dy[n][o][i + padding - kh][j + padding - kw] * w[o][c][kh][kw]
 * (zero outside dy); w is OIHW. With transposed, flipped weights and padding
 * kernel - 1 - padding it is a forward convolution too. Returns 0, or -1 when the work buffers
 * could not be allocated. */
int dfkd_few_channel_input_gradient(const float *dy, const float *w, float *dx,
                                    int batch, int channels, int height, int width,
                                    int outputs, int kernel_height, int kernel_width,
                                    int output_height, int output_width, int padding);

/* Whether the C kernels run their AVX2 + FMA versions: the CPU has them and they are
 * allowed (the default; tests turn them off to check the generic versions on any CPU). */
int dfkd_engine_kernels_use_avx2(void);
void dfkd_engine_kernels_allow_avx2(int allowed);

/* Whether those that have AVX-512 versions (pooling, channel and element-wise kernels) run
 * them: AVX2 is allowed, the CPU has AVX-512F and DNNL_MAX_CPU_ISA, where set, allows
 * AVX-512 (oneDNN's own limit: AVX2 makes the whole engine run as on an AVX2 machine). */
int dfkd_engine_kernels_use_avx512(void);

#endif
