#include "layout_kernels.h"

#include <string.h>

static inline int blocks(int channels, int lanes) { return (channels + lanes - 1) / lanes; }

/* One image. With constant lane counts (see dfkd_convert_layout) the inner copies unroll into
 * whole-vector moves. */
static inline __attribute__((always_inline)) void convert_image(const float *source, const int from, float *destination,
                                                                const int to, int channels, long pixels) {
    const int target_blocks = blocks(channels, to), source_blocks = blocks(channels, from);
    for (int block = 0; block < target_blocks; block++) {
        float *out = destination + (long)block * pixels * to;
        const int first = block * to;
        if (to == 1) {
            /* A plane of channel `first`, gathered from its lane. */
            const float *in = source + (long)(first / from) * pixels * from + first % from;
            for (long p = 0; p < pixels; p++) out[p] = in[p * from];
        } else if (from == 1) {
            const int count = channels - first < to ? channels - first : to;
            if (count < to) memset(out, 0, sizeof(float) * (size_t)(pixels * to));
            for (int lane = 0; lane < count; lane++) {
                const float *in = source + (long)(first + lane) * pixels;
                for (long p = 0; p < pixels; p++) out[p * to + lane] = in[p];
            }
        } else if (from > to) {
            /* Part of a wider source block, whose padding lanes are zero already. */
            const float *in = source + (long)(first / from) * pixels * from + first % from;
            for (long p = 0; p < pixels; p++)
                for (int lane = 0; lane < to; lane++) out[p * to + lane] = in[p * from + lane];
        } else {
            /* Several narrower source blocks; those past the source's last are padding. */
            for (int part = 0; part < to / from; part++) {
                const int source_block = first / from + part;
                if (source_block < source_blocks) {
                    const float *in = source + (long)source_block * pixels * from;
                    for (long p = 0; p < pixels; p++)
                        for (int lane = 0; lane < from; lane++) out[p * to + part * from + lane] = in[p * from + lane];
                } else {
                    for (long p = 0; p < pixels; p++)
                        for (int lane = 0; lane < from; lane++) out[p * to + part * from + lane] = 0;
                }
            }
        }
    }
}

#define CONVERT(FROM, TO) \
    for (long n = 0; n < images; n++) \
        convert_image(source + n * source_image, FROM, destination + n * destination_image, TO, channels, pixels)

void dfkd_convert_layout(const float *source, int source_lanes, float *destination, int destination_lanes,
                         long images, int channels, long pixels) {
    const long source_image = (long)blocks(channels, source_lanes) * source_lanes * pixels;
    const long destination_image = (long)blocks(channels, destination_lanes) * destination_lanes * pixels;
    const int from = source_lanes, to = destination_lanes;
    if (from == 16 && to == 8) CONVERT(16, 8);
    else if (from == 8 && to == 16) CONVERT(8, 16);
    else if (from == 16 && to == 1) CONVERT(16, 1);
    else if (from == 1 && to == 16) CONVERT(1, 16);
    else if (from == 8 && to == 1) CONVERT(8, 1);
    else if (from == 1 && to == 8) CONVERT(1, 8);
    else CONVERT(from, to);
}
