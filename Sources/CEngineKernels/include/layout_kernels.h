#ifndef DFKD_LAYOUT_KERNELS_H
#define DFKD_LAYOUT_KERNELS_H

/* Copies `images` images of `channels` channels of `pixels` pixels from one channel layout to
 * another: lanes 1 is plain NCHW, 8 or 16 the channel-blocked nChw8c or nChw16c (channels
 * rounded up to whole blocks, the extra lanes zero). The destination's extra lanes are
 * written zero; a blocked source's are expected zero. */
void dfkd_convert_layout(const float *source, int source_lanes, float *destination, int destination_lanes,
                         long images, int channels, long pixels);

#endif
