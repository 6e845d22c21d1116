#ifndef DFKD_POOLING_KERNELS_H
#define DFKD_POOLING_KERNELS_H

/* Max and average pooling over square windows, on tensors stored as planes of interleaved
 * channel lanes: `planes` planes (images x channel blocks) of input_height x input_width
 * pixels, each pixel `lanes` floats (1 for plain NCHW, 8 or 16 for channel-blocked layouts).
 * Each output pixel reads whole lane vectors of its window, so a blocked tensor pools all
 * its lanes at once. AVX-512 or AVX2 code is chosen at run time, as for the convolution
 * kernels (dfkd_engine_kernels_allow_avx2). */

typedef struct {
    int kernel, stride, padding;
    int input_height, input_width, output_height, output_width;
} dfkd_pooling_window;

/* out = the maximum of each window; positions = where in the window it was (row * kernel +
 * column, as a float), per lane. Ties go to the first position in row-major window order and
 * a NaN wins, as in PyTorch. Padding is at most half the window, so every window holds an
 * input pixel. */
void dfkd_max_pool_forward(const float *x, float *out, float *positions, long planes, int lanes,
                           const dfkd_pooling_window *window);

/* dx: each output's gradient at its recorded position, zero elsewhere. */
void dfkd_max_pool_backward(const float *dy, const float *positions, float *dx, long planes, int lanes,
                            const dfkd_pooling_window *window);

/* out = the window's sum over kernel squared (zero padding counts, as PyTorch's default). */
void dfkd_average_pool_forward(const float *x, float *out, long planes, int lanes, const dfkd_pooling_window *window);

/* dx: each output's gradient over kernel squared, added to every input of its window. */
void dfkd_average_pool_backward(const float *dy, float *dx, long planes, int lanes, const dfkd_pooling_window *window);

#endif
