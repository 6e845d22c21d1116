#ifndef DFKD_UPSAMPLE_KERNELS_H
#define DFKD_UPSAMPLE_KERNELS_H

/* Nearest-neighbour 2x upsampling of `planes` planes of height x width pixels, each pixel
 * `lanes` floats (1 for plain NCHW, 8 or 16 for channel-blocked layouts): every input pixel
 * fills a 2 x 2 square of the output (2 height x 2 width). The backward pass gives each input
 * the sum of its square's gradients. AVX-512 or AVX2 code is chosen at run time. */
void dfkd_upsample_nearest_2x_forward(const float *x, float *out, long planes, int height, int width, int lanes);
void dfkd_upsample_nearest_2x_backward(const float *dy, float *dx, long planes, int height, int width, int lanes);

#endif
