#include "winograd_kernels.h"
#include "engine_kernels.h"

#include <stdlib.h>
#include <string.h>

/* Winograd F(4x4, 3x3) (Lavin and Gray, 2016) with the points 0, 1, -1, 2, -2 and infinity:
 * each 6x6 patch of input d and 3x3 kernel g become 6x6 "points" B^T d B and G g G^T; their
 * products, summed over input channels (one matrix product per point), give a 4x4 block of
 * outputs through A^T (.) A. Tiles are taken a chunk at a time, so that the transformed
 * inputs and products of a chunk stay in the cache between the three steps. The channels
 * of a tile are handled a vector at a time: sixteen (one AVX-512 register) where the CPU has
 * AVX-512 and the blocks are of 16, else eight (one AVX2 register; a 16-channel block is two).
 * The vector parts are in winograd_template.h, compiled once per instruction set. */

#define INLINE static inline __attribute__((always_inline))

enum { TILE = 4, PATCH = 6, POINTS = 36, ROWS = 6 };

/* How many tiles ahead the transforms prefetch their operands (measured on the WRN-16-1
 * step: 2 to 8 were within noise of each other, 1 and none slower). */
enum { AHEAD = 4 };

/* A channel-blocked tensor's dimensions; `lanes` channels per block. */
typedef struct {
    int channels, height, width, lanes;
} blocked;

/* Tiles per chunk: the chunk's transformed inputs and products (36 points each) fill about
 * 512 KiB. */
static long chunk_tiles(int channels, int outputs, long total) {
    long chunk = (128L * 1024) / ((long)POINTS * (channels + outputs));
    chunk = chunk < ROWS ? ROWS : chunk / ROWS * ROWS;
    return chunk < total ? chunk : total;
}

/* The tile's image and its top left output, for tiles numbered image by image, row by row. */
typedef struct {
    int image, top, left;
} tile_place;

/* The tiles of a pass: numbered image by image, row by row, taken `chunk` at a time. */
typedef struct {
    int tiles_y, tiles_x, images;
    long total, chunk;
} tiling;

INLINE tiling tiling_of(blocked in, blocked out, int batch) {
    const int tiles_y = (out.height + TILE - 1) / TILE, tiles_x = (out.width + TILE - 1) / TILE;
    const long total = (long)batch * tiles_y * tiles_x;
    return (tiling){tiles_y, tiles_x, batch, total, chunk_tiles(in.channels, out.channels, total)};
}

INLINE tile_place place_of(long tile, tiling tiles) {
    const long per_image = (long)tiles.tiles_y * tiles.tiles_x, within = tile % per_image;
    return (tile_place){(int)(tile / per_image), (int)(within / tiles.tiles_x) * TILE, (int)(within % tiles.tiles_x) * TILE};
}

/* The tile after `place`, the first one again after the last: the loops over tiles step
 * with this rather than place_of, whose divisions at every tile took about 5% of a
 * 16-channel pass. */
INLINE tile_place next_place(tile_place place, tiling tiles) {
    place.left += TILE;
    if (place.left < tiles.tiles_x * TILE) return place;
    place.left = 0;
    place.top += TILE;
    if (place.top < tiles.tiles_y * TILE) return place;
    place.top = 0;
    place.image = place.image + 1 < tiles.images ? place.image + 1 : 0;
    return place;
}

/* Where the walk over a chunk's tiles starts: the chunk's first tile, and the one AHEAD
 * tiles later whose operands are prefetched. */
INLINE void start_walk(long start, tiling tiles, tile_place *place, tile_place *ahead) {
    *place = place_of(start, tiles);
    *ahead = place_of((start + AHEAD) % tiles.total, tiles);
}

/* Two work buffers of 36 points per tile of a chunk, `channels` and `outputs` floats each;
 * 0, or -1 (and none) when they could not be allocated. */
static int allocate_chunk_buffers(tiling tiles, int channels, int outputs, float **first, float **second) {
    *first = malloc(sizeof(float) * POINTS * tiles.chunk * channels);
    *second = malloc(sizeof(float) * POINTS * tiles.chunk * outputs);
    if (*first && *second) return 0;
    free(*first);
    free(*second);
    return -1;
}

/* block(..., rows, columns) with `rows` (1 to ROWS) a constant in each inlined copy, so that
 * the product blocks' accumulators stay in registers. */
#define BY_ROWS(block, rows, columns, ...)                                                     \
    switch (rows) {                                                                            \
    case 1: block(__VA_ARGS__, 1, columns); break;                                             \
    case 2: block(__VA_ARGS__, 2, columns); break;                                             \
    case 3: block(__VA_ARGS__, 3, columns); break;                                             \
    case 4: block(__VA_ARGS__, 4, columns); break;                                             \
    case 5: block(__VA_ARGS__, 5, columns); break;                                             \
    default: block(__VA_ARGS__, 6, columns); break;                                            \
    }

/* The vector parts, once per instruction set. */
typedef float f16 __attribute__((vector_size(64)));
typedef float f16u __attribute__((vector_size(64), aligned(4)));
typedef float f8 __attribute__((vector_size(32)));
typedef float f8u __attribute__((vector_size(32), aligned(4)));

#define SUFFIX avx512
#define TARGET __attribute__((target("avx512f,avx2,fma")))
#define WIDTH 16
#define VEC f16
#define VECU f16u
#include "winograd_template.h"
#undef SUFFIX
#undef TARGET
#undef WIDTH
#undef VEC
#undef VECU

#define SUFFIX avx2
#define TARGET __attribute__((target("avx2,fma")))
#define WIDTH 8
#define VEC f8
#define VECU f8u
#include "winograd_template.h"
#undef SUFFIX
#undef TARGET
/* The same eight lanes on generic x86-64, as two SSE registers. */
#define SUFFIX generic
#define TARGET
#include "winograd_template.h"
#undef SUFFIX
#undef TARGET
#undef WIDTH
#undef VEC
#undef VECU

/* The kernels a call runs: AVX-512 on 16-channel blocks where the CPU has it and it is
 * allowed, else AVX2 + FMA where allowed, else generic. One call runs one variant throughout:
 * the transformed weights' layout depends on its width. */
enum variant { AVX512, AVX2, GENERIC };

static enum variant variant_for(int lanes) {
    if (!dfkd_engine_kernels_use_avx2()) return GENERIC;
    return lanes % 16 == 0 && dfkd_engine_kernels_use_avx512() ? AVX512 : AVX2;
}

/* kernel##avx512(...), kernel##avx2(...) or kernel##generic(...), as `variant` says. */
#define DISPATCH(variant, kernel, ...)                                                         \
    ((variant) == AVX512 ? kernel##avx512(__VA_ARGS__)                                         \
     : (variant) == AVX2 ? kernel##avx2(__VA_ARGS__)                                           \
                         : kernel##generic(__VA_ARGS__))

/* The transformed weights of a convolution with `outputs` outputs and `channels` inputs, or
 * NULL when they could not be allocated. */
static float *transformed_weights(enum variant variant, const float *w, int outputs, int channels, int flipped) {
    float *u = malloc(sizeof(float) * POINTS * outputs * channels);
    if (u) DISPATCH(variant, transform_weights_, w, u, outputs, channels, flipped);
    return u;
}

int dfkd_winograd_forward(const float *x, const float *w, const float *bias, const float *residual, float *y, int batch,
                          int channels, int height, int width, int outputs, int output_height, int output_width, int padding,
                          int lanes) {
    const enum variant variant = variant_for(lanes);
    float *u = transformed_weights(variant, w, outputs, channels, 0);
    if (!u) return -1;
    const blocked in = {channels, height, width, lanes}, out = {outputs, output_height, output_width, lanes};
    const int status = DISPATCH(variant, convolve_, x, in, u, bias, residual, y, out, batch, padding);
    free(u);
    return status;
}

int dfkd_winograd_backward_data(const float *dy, const float *w, float *dx, int batch, int channels, int height, int width,
                                int outputs, int output_height, int output_width, int padding, int lanes) {
    const enum variant variant = variant_for(lanes);
    float *u = transformed_weights(variant, w, channels, outputs, 1);
    if (!u) return -1;
    const blocked in = {outputs, output_height, output_width, lanes}, out = {channels, height, width, lanes};
    const int status = DISPATCH(variant, convolve_, dy, in, u, NULL, NULL, dx, out, batch, 2 - padding);
    free(u);
    return status;
}

int dfkd_winograd_backward_weights(const float *x, const float *dy, float *dw, float *db, int batch, int channels, int height,
                                   int width, int outputs, int output_height, int output_width, int padding, int lanes) {
    float *s = calloc((size_t)POINTS * channels * outputs, sizeof(float));
    float *sums = calloc((size_t)outputs, sizeof(float));
    if (!s || !sums) {
        free(s);
        free(sums);
        return -1;
    }
    const enum variant variant = variant_for(lanes);
    const blocked in = {channels, height, width, lanes}, out = {outputs, output_height, output_width, lanes};
    const int status = DISPATCH(variant, gradient_points_, x, in, dy, out, s, sums, batch, padding);
    if (status == 0) {
        DISPATCH(variant, weight_gradient_, s, dw, outputs, channels);
        if (db) memcpy(db, sums, sizeof(float) * outputs);
    }
    free(s);
    free(sums);
    return status;
}
