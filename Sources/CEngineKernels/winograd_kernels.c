#include "winograd_kernels.h"
#include "engine_kernels.h"

#include <stdlib.h>
#include <string.h>

/* Winograd F(4x4, 3x3) (Lavin and Gray, 2016) with the points 0, 1, -1, 2, -2 and infinity:
 * each 6x6 patch of input d and 3x3 kernel g become 6x6 "points" B^T d B and G g G^T; their
 * products, summed over input channels (one matrix product per point), give a 4x4 block of
 * outputs through A^T (.) A. Tiles are taken a chunk at a time, so that the transformed
 * inputs and products of a chunk stay in the cache between the three steps. The channels
 * of a tile are handled eight at a time (one AVX2 register); a 16-channel block is two. */

typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4)));

#define LOAD8(p) (*(const v8u *)(p))
#define STORE8(p, v) (*(v8u *)(p) = (v))
#define INLINE static inline __attribute__((always_inline))

enum { TILE = 4, PATCH = 6, POINTS = 36, GROUP = 8, ROWS = 6 };

/* How many tiles ahead the transforms prefetch their operands (measured on the WRN-16-1
 * step: 2 to 8 were within noise of each other, 1 and none slower). */
enum { AHEAD = 4 };

/* A channel-blocked tensor's dimensions; `lanes` channels per block. */
typedef struct {
    int channels, height, width, lanes;
} blocked;

/* Where the eight channels of group `group` of image n start; their pixels are `lanes` apart.
 * Called for every tile and group, so it divides by nothing: `lanes` is 8 or 16. */
INLINE long group_start(blocked t, int n, int group) {
    const int block = t.lanes == GROUP ? group : group >> 1, within = t.lanes == GROUP ? 0 : (group & 1) * GROUP;
    return (long)n * t.channels * t.height * t.width + (long)block * t.height * t.width * t.lanes + within;
}

/* Tiles per chunk: the chunk's transformed inputs and products (36 points each) fill about
 * 512 KiB. */
static long chunk_tiles(int channels, int outputs, long total) {
    long chunk = (128L * 1024) / ((long)POINTS * (channels + outputs));
    chunk = chunk < ROWS ? ROWS : chunk / ROWS * ROWS;
    return chunk < total ? chunk : total;
}

/* B^T d for six values `in` apart, into six values `out` apart. */
INLINE void input_line(const v8 *d, int in, v8 *r, int out) {
    const v8 d0 = d[0], d1 = d[in], d2 = d[2 * in], d3 = d[3 * in], d4 = d[4 * in], d5 = d[5 * in];
    r[0] = (d4 - 5.0f * d2) + 4.0f * d0;
    r[out] = (d3 + d4) - 4.0f * (d1 + d2);
    r[2 * out] = (d4 - d3) + 4.0f * (d1 - d2);
    r[3 * out] = (d4 - d2) + 2.0f * (d3 - d1);
    r[4 * out] = (d4 - d2) - 2.0f * (d3 - d1);
    r[5 * out] = (d5 - 5.0f * d3) + 4.0f * d1;
}

/* A^T m: six values to four. */
INLINE void output_line(const v8 *m, int in, v8 *o, int out) {
    const v8 sum12 = m[in] + m[2 * in], difference12 = m[in] - m[2 * in];
    const v8 sum34 = m[3 * in] + m[4 * in], difference34 = m[3 * in] - m[4 * in];
    o[0] = (m[0] + sum12) + sum34;
    o[out] = difference12 + 2.0f * difference34;
    o[2 * out] = sum12 + 4.0f * sum34;
    o[3 * out] = (difference12 + 8.0f * difference34) + m[5 * in];
}

/* A y: four values to six (an output gradient's tile, for the weight gradient). */
INLINE void gradient_line(const v8 *y, int in, v8 *z, int out) {
    const v8 even = y[0] + y[2 * in], odd = y[in] + y[3 * in];
    const v8 even4 = y[0] + 4.0f * y[2 * in], odd4 = 2.0f * y[in] + 8.0f * y[3 * in];
    z[0] = y[0];
    z[out] = even + odd;
    z[2 * out] = even - odd;
    z[3 * out] = even4 + odd4;
    z[4 * out] = even4 - odd4;
    z[5 * out] = y[3 * in];
}

/* Asks for the rows of a patch a few tiles ahead to be brought into the cache: with two
 * tensors of several 8-channel planes each, a tile reads more rows at once than the hardware
 * prefetcher follows. */
INLINE void prefetch_patch(const float *plane, blocked t, int top, int left, int size, const int WRITE) {
    const int first = left < 0 ? 0 : left, last = left + size > t.width ? t.width - 1 : left + size - 1;
    if (first > last) return;
    for (int r = top < 0 ? 0 : top; r < top + size && r < t.height; r++) {
        const char *row = (const char *)(plane + (long)r * t.width * t.lanes);
        for (long byte = (long)first * t.lanes * 4; byte <= ((long)last * t.lanes + GROUP - 1) * 4; byte += 64)
            if (WRITE) __builtin_prefetch(row + byte, 1); else __builtin_prefetch(row + byte, 0);
    }
}

/* The 36 points of the 6x6 patch whose top left is (top, left) (zero outside the tensor),
 * eight channels of them: point p goes to points + p * stride. */
INLINE void transform_input_tile(const float *plane, blocked t, int top, int left, float *points, long stride) {
    v8 e[PATCH][PATCH];
    const int inside = top >= 0 && left >= 0 && top + PATCH <= t.height && left + PATCH <= t.width;
    /* A column at a time from memory: with the whole patch loaded first, it took two trips
     * through the stack. */
    for (int c = 0; c < PATCH; c++) {
        v8 d[PATCH];
        const int x = left + c;
        for (int r = 0; r < PATCH; r++) {
            const int y = top + r;
            d[r] = inside || (y >= 0 && y < t.height && x >= 0 && x < t.width) ? LOAD8(plane + ((long)y * t.width + x) * t.lanes)
                                                                              : (v8){0};
        }
        input_line(d, 1, &e[0][c], PATCH);
    }
    for (int r = 0; r < PATCH; r++) {
        v8 row[PATCH];
        input_line(e[r], 1, row, 1);
        for (int c = 0; c < PATCH; c++) STORE8(points + (long)(r * PATCH + c) * stride, row[c]);
    }
}

/* The 4x4 outputs at (top, left) from their 36 summed products (eight output channels),
 * plus the bias, plus the residual's values at the same place where `residual` (a plane
 * like `plane`) is not NULL; outputs beyond the tensor's edge are dropped. */
INLINE void transform_output_tile(const float *points, long stride, float *plane, blocked t, int top, int left,
                                  const float *bias, const float *residual) {
    v8 half[TILE][PATCH];
    for (int c = 0; c < PATCH; c++) { /* a column at a time from memory, as the input's */
        v8 m[PATCH];
        for (int r = 0; r < PATCH; r++) m[r] = LOAD8(points + (r * PATCH + c) * stride);
        output_line(m, 1, &half[0][c], PATCH);
    }
    const v8 b = bias ? LOAD8(bias) : (v8){0};
    const int rows = t.height - top < TILE ? t.height - top : TILE;
    const int columns = t.width - left < TILE ? t.width - left : TILE;
    for (int r = 0; r < rows; r++) {
        v8 o[TILE];
        output_line(half[r], 1, o, 1);
        for (int c = 0; c < columns; c++) {
            const long at = ((long)(top + r) * t.width + left + c) * t.lanes;
            /* The sum rounds as a separate addition of the residual after the convolution. */
            STORE8(plane + at, residual ? (o[c] + b) + LOAD8(residual + at) : o[c] + b);
        }
    }
}

/* The 36 points of the output gradient's 4x4 tile at (top, left) (zero beyond the edge),
 * eight channels; adds the tile's values to `sums` (the bias gradient). */
INLINE void transform_gradient_tile(const float *plane, blocked t, int top, int left, float *points, long stride, float *sums) {
    v8 half[PATCH][TILE];
    v8 total = {0};
    for (int c = 0; c < TILE; c++) {
        v8 y[TILE];
        for (int r = 0; r < TILE; r++) {
            const int inside = top + r < t.height && left + c < t.width;
            y[r] = inside ? LOAD8(plane + ((long)(top + r) * t.width + left + c) * t.lanes) : (v8){0};
            total += y[r];
        }
        gradient_line(y, 1, &half[0][c], TILE);
    }
    STORE8(sums, LOAD8(sums) + total);
    for (int r = 0; r < PATCH; r++) {
        v8 z[PATCH];
        gradient_line(half[r], 1, z, 1);
        for (int c = 0; c < PATCH; c++) STORE8(points + (long)(r * PATCH + c) * stride, z[c]);
    }
}

/* m[t][k] = sum over c of v[t][c] * u[k / 8][c][k % 8] for ROWS_ tiles and COLUMNS eight-output
 * groups: the accumulators stay in registers. */
INLINE void product_block(const float *v, const float *u, float *m, int channels, long v_row, long m_row, const int ROWS_,
                          const int COLUMNS) {
    v8 sums[ROWS][2] = {{{0}}};
    const float *u1 = u + (long)channels * GROUP;
    for (int c = 0; c < channels; c++) {
        const v8 b0 = LOAD8(u + c * GROUP), b1 = COLUMNS == 2 ? LOAD8(u1 + c * GROUP) : (v8){0};
        for (int r = 0; r < ROWS_; r++) {
            const float a = v[r * v_row + c];
            sums[r][0] += a * b0;
            if (COLUMNS == 2) sums[r][1] += a * b1;
        }
    }
    for (int r = 0; r < ROWS_; r++) {
        STORE8(m + r * m_row, sums[r][0]);
        if (COLUMNS == 2) STORE8(m + r * m_row + GROUP, sums[r][1]);
    }
}

#define BY_ROWS(block, rows, columns, ...)                                                     \
    switch (rows) {                                                                            \
    case 1: block(__VA_ARGS__, 1, columns); break;                                             \
    case 2: block(__VA_ARGS__, 2, columns); break;                                             \
    case 3: block(__VA_ARGS__, 3, columns); break;                                             \
    case 4: block(__VA_ARGS__, 4, columns); break;                                             \
    case 5: block(__VA_ARGS__, 5, columns); break;                                             \
    default: block(__VA_ARGS__, 6, columns); break;                                            \
    }

/* One point's products for `count` tiles: v (a row of `channels` per tile, rows v_row apart),
 * u [outputs / 8][channels][8], m (a row of `outputs` per tile, m_row apart). */
INLINE void multiply_point(const float *v, const float *u, float *m, int count, int channels, int outputs, long v_row, long m_row) {
    const int groups = outputs / GROUP;
    for (int g = 0; g < groups; g += 2) {
        const float *ug = u + (long)g * channels * GROUP;
        for (int t = 0; t < count; t += ROWS) {
            const int rows = count - t < ROWS ? count - t : ROWS;
            const float *vt = v + t * v_row;
            float *mt = m + t * m_row + g * GROUP;
            if (groups - g >= 2) {
                BY_ROWS(product_block, rows, 2, vt, ug, mt, channels, v_row, m_row)
            } else {
                BY_ROWS(product_block, rows, 1, vt, ug, mt, channels, v_row, m_row)
            }
        }
    }
}

/* s[c][k] += sum over t of v[t][c] * z[t][k] for ROWS_ input channels and COLUMNS eight-output
 * groups. */
INLINE void gradient_block(const float *v, const float *z, float *s, int count, int outputs, long v_row, long z_row,
                           const int ROWS_, const int COLUMNS) {
    v8 sums[ROWS][2] = {{{0}}};
    for (int t = 0; t < count; t++) {
        const float *zt = z + t * z_row, *vt = v + t * v_row;
        const v8 b0 = LOAD8(zt), b1 = COLUMNS == 2 ? LOAD8(zt + GROUP) : (v8){0};
        for (int r = 0; r < ROWS_; r++) {
            const float a = vt[r];
            sums[r][0] += a * b0;
            if (COLUMNS == 2) sums[r][1] += a * b1;
        }
    }
    for (int r = 0; r < ROWS_; r++) {
        STORE8(s + (long)r * outputs, LOAD8(s + (long)r * outputs) + sums[r][0]);
        if (COLUMNS == 2) STORE8(s + (long)r * outputs + GROUP, LOAD8(s + (long)r * outputs + GROUP) + sums[r][1]);
    }
}

/* One point's weight-gradient sums over `count` tiles: v (a row of `channels` per tile, v_row
 * apart), z (a row of `outputs`, z_row apart), s [channels][outputs]. */
INLINE void accumulate_point(const float *v, const float *z, float *s, int count, int channels, int outputs, long v_row, long z_row) {
    const int groups = outputs / GROUP;
    for (int c = 0; c < channels; c += ROWS) {
        const int rows = channels - c < ROWS ? channels - c : ROWS;
        for (int g = 0; g < groups; g += 2) {
            float *sc = s + (long)c * outputs + g * GROUP;
            if (groups - g >= 2) {
                BY_ROWS(gradient_block, rows, 2, v + c, z + g * GROUP, sc, count, outputs, v_row, z_row)
            } else {
                BY_ROWS(gradient_block, rows, 1, v + c, z + g * GROUP, sc, count, outputs, v_row, z_row)
            }
        }
    }
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

/* The input's points of tiles start ..< start + count into v, a row of 36 x channels per tile. */
INLINE void transform_input_chunk(const float *x, blocked in, int padding, tiling tiles, long start, int count, float *v) {
    tile_place place, ahead;
    start_walk(start, tiles, &place, &ahead);
    for (int t = 0; t < count; t++, place = next_place(place, tiles), ahead = next_place(ahead, tiles)) {
        for (int g = 0; g < in.channels / GROUP; g++) {
            prefetch_patch(x + group_start(in, ahead.image, g), in, ahead.top - padding, ahead.left - padding, PATCH, 0);
            transform_input_tile(x + group_start(in, place.image, g), in, place.top - padding, place.left - padding,
                                 v + (long)t * POINTS * in.channels + g * GROUP, in.channels);
        }
    }
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

/* out = the convolution of in with the transformed weights u ([36][outputs / 8][channels][8]),
 * plus residual (laid out as out) where it is not NULL. */
INLINE int convolve(const float *x, blocked in, const float *u, const float *bias, const float *residual, float *y, blocked out,
                    int batch, int padding) {
    const int channels = in.channels, outputs = out.channels;
    const tiling tiles = tiling_of(in, out, batch);
    float *v, *m;
    if (allocate_chunk_buffers(tiles, channels, outputs, &v, &m) != 0) return -1;
    for (long start = 0; start < tiles.total; start += tiles.chunk) {
        const int count = (int)(tiles.total - start < tiles.chunk ? tiles.total - start : tiles.chunk);
        transform_input_chunk(x, in, padding, tiles, start, count, v);
        for (int p = 0; p < POINTS; p++)
            multiply_point(v + (long)p * channels, u + (long)p * channels * outputs, m + (long)p * outputs, count, channels, outputs,
                           (long)POINTS * channels, (long)POINTS * outputs);
        tile_place place, ahead;
        start_walk(start, tiles, &place, &ahead);
        for (int t = 0; t < count; t++, place = next_place(place, tiles), ahead = next_place(ahead, tiles)) {
            for (int g = 0; g < outputs / GROUP; g++) {
                const long here = group_start(out, place.image, g), there = group_start(out, ahead.image, g);
                prefetch_patch(y + there, out, ahead.top, ahead.left, TILE, 1);
                if (residual) prefetch_patch(residual + there, out, ahead.top, ahead.left, TILE, 0);
                transform_output_tile(m + (long)t * POINTS * outputs + g * GROUP, outputs, y + here, out, place.top, place.left,
                                      bias ? bias + g * GROUP : NULL, residual ? residual + here : NULL);
            }
        }
    }
    free(v);
    free(m);
    return 0;
}

/* s ([36][channels][outputs]) = the sum over tiles of the input's points times the output
 * gradient's; sums ([outputs]) = the output gradient's sum. */
INLINE int gradient_points(const float *x, blocked in, const float *dy, blocked out, float *s, float *sums, int batch,
                           int padding) {
    const int channels = in.channels, outputs = out.channels;
    const tiling tiles = tiling_of(in, out, batch);
    float *v, *z;
    if (allocate_chunk_buffers(tiles, channels, outputs, &v, &z) != 0) return -1;
    for (long start = 0; start < tiles.total; start += tiles.chunk) {
        const int count = (int)(tiles.total - start < tiles.chunk ? tiles.total - start : tiles.chunk);
        transform_input_chunk(x, in, padding, tiles, start, count, v);
        tile_place place, ahead;
        start_walk(start, tiles, &place, &ahead);
        for (int t = 0; t < count; t++, place = next_place(place, tiles), ahead = next_place(ahead, tiles)) {
            for (int g = 0; g < outputs / GROUP; g++) {
                prefetch_patch(dy + group_start(out, ahead.image, g), out, ahead.top, ahead.left, TILE, 0);
                transform_gradient_tile(dy + group_start(out, place.image, g), out, place.top, place.left,
                                        z + (long)t * POINTS * outputs + g * GROUP, outputs, sums + g * GROUP);
            }
        }
        for (int p = 0; p < POINTS; p++)
            accumulate_point(v + (long)p * channels, z + (long)p * outputs, s + (long)p * channels * outputs, count, channels, outputs,
                             (long)POINTS * channels, (long)POINTS * outputs);
    }
    free(v);
    free(z);
    return 0;
}

__attribute__((target("avx2,fma")))
static int convolve_avx2(const float *x, blocked in, const float *u, const float *bias, const float *residual, float *y, blocked out,
                         int batch, int padding) {
    return convolve(x, in, u, bias, residual, y, out, batch, padding);
}

static int convolve_generic(const float *x, blocked in, const float *u, const float *bias, const float *residual, float *y,
                            blocked out, int batch, int padding) {
    return convolve(x, in, u, bias, residual, y, out, batch, padding);
}

__attribute__((target("avx2,fma")))
static int gradient_points_avx2(const float *x, blocked in, const float *dy, blocked out, float *s, float *sums, int batch, int padding) {
    return gradient_points(x, in, dy, out, s, sums, batch, padding);
}

static int gradient_points_generic(const float *x, blocked in, const float *dy, blocked out, float *s, float *sums, int batch,
                                   int padding) {
    return gradient_points(x, in, dy, out, s, sums, batch, padding);
}

/* G g: a kernel's three taps to six points. */
INLINE void kernel_line(const v8 *g, int in, v8 *u, int out) {
    const v8 outer = g[0] + g[2 * in], weighted = (1.0f / 24) * g[0] + (1.0f / 6) * g[2 * in];
    u[0] = 0.25f * g[0];
    u[out] = (-1.0f / 6) * (outer + g[in]);
    u[2 * out] = (-1.0f / 6) * (outer - g[in]);
    u[3 * out] = weighted + (1.0f / 12) * g[in];
    u[4 * out] = weighted - (1.0f / 12) * g[in];
    u[5 * out] = g[2 * in];
}

/* G^T s: six points' sums to three taps (the weight gradient). */
INLINE void tap_line(const v8 *s, int in, v8 *w, int out) {
    const v8 sum12 = s[in] + s[2 * in], sum34 = s[3 * in] + s[4 * in];
    w[0] = (0.25f * s[0] - (1.0f / 6) * sum12) + (1.0f / 24) * sum34;
    w[out] = (1.0f / 6) * (s[2 * in] - s[in]) + (1.0f / 12) * (s[3 * in] - s[4 * in]);
    w[2 * out] = (1.0f / 6) * (sum34 - sum12) + s[5 * in];
}

/* u[p][o / 8][c][o % 8] = (G g G^T)[p] for the 3x3 kernel g of output o and input c, eight
 * outputs at a time. `flipped`: the convolution that computes an input gradient, whose output o
 * is the original's input and whose kernels are the original's turned by 180 degrees. */
INLINE void transform_weights(const float *w, float *u, int outputs, int channels, int flipped) {
    for (int group = 0; group < outputs / GROUP; group++)
        for (int c = 0; c < channels; c++) {
            v8 g[3][3], half[PATCH][3], points[PATCH];
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++)
                    for (int l = 0; l < GROUP; l++) {
                        const long o = (long)group * GROUP + l;
                        g[a][b][l] = flipped ? w[((c * outputs + o) * 3 + 2 - a) * 3 + 2 - b] : w[((o * channels + c) * 3 + a) * 3 + b];
                    }
            for (int b = 0; b < 3; b++) kernel_line(&g[0][b], 3, &half[0][b], 3);
            for (int p = 0; p < PATCH; p++) {
                kernel_line(half[p], 1, points, 1);
                for (int q = 0; q < PATCH; q++)
                    STORE8(u + (((long)(p * PATCH + q) * (outputs / GROUP) + group) * channels + c) * GROUP, points[q]);
            }
        }
}

/* dw[o][c] = G^T S G from the summed points s[p][c][o], eight outputs at a time. */
INLINE void weight_gradient(const float *s, float *dw, int outputs, int channels) {
    for (int group = 0; group < outputs / GROUP; group++)
        for (int c = 0; c < channels; c++) {
            v8 points[PATCH][PATCH], half[3][PATCH], taps[3][3];
            for (int p = 0; p < POINTS; p++) points[p / PATCH][p % PATCH] = LOAD8(s + ((long)p * channels + c) * outputs + group * GROUP);
            for (int q = 0; q < PATCH; q++) tap_line(&points[0][q], PATCH, &half[0][q], PATCH);
            for (int a = 0; a < 3; a++) tap_line(half[a], 1, taps[a], 1);
            for (int l = 0; l < GROUP; l++)
                for (int a = 0; a < 3; a++)
                    for (int b = 0; b < 3; b++) dw[((((long)group * GROUP + l) * channels + c) * 3 + a) * 3 + b] = taps[a][b][l];
        }
}

__attribute__((target("avx2,fma")))
static void transform_weights_avx2(const float *w, float *u, int outputs, int channels, int flipped) {
    transform_weights(w, u, outputs, channels, flipped);
}

static void transform_weights_generic(const float *w, float *u, int outputs, int channels, int flipped) {
    transform_weights(w, u, outputs, channels, flipped);
}

__attribute__((target("avx2,fma")))
static void weight_gradient_avx2(const float *s, float *dw, int outputs, int channels) { weight_gradient(s, dw, outputs, channels); }

static void weight_gradient_generic(const float *s, float *dw, int outputs, int channels) { weight_gradient(s, dw, outputs, channels); }

/* The transformed weights of a convolution with `outputs` outputs and `channels` inputs, or
 * NULL when they could not be allocated. */
static float *transformed_weights(const float *w, int outputs, int channels, int flipped) {
    float *u = malloc(sizeof(float) * POINTS * outputs * channels);
    if (u) (dfkd_engine_kernels_use_avx2() ? transform_weights_avx2 : transform_weights_generic)(w, u, outputs, channels, flipped);
    return u;
}

int dfkd_winograd_forward(const float *x, const float *w, const float *bias, const float *residual, float *y, int batch,
                          int channels, int height, int width, int outputs, int output_height, int output_width, int padding,
                          int lanes) {
    float *u = transformed_weights(w, outputs, channels, 0);
    if (!u) return -1;
    const blocked in = {channels, height, width, lanes}, out = {outputs, output_height, output_width, lanes};
    const int status = (dfkd_engine_kernels_use_avx2() ? convolve_avx2 : convolve_generic)(x, in, u, bias, residual, y, out, batch, padding);
    free(u);
    return status;
}

int dfkd_winograd_backward_data(const float *dy, const float *w, float *dx, int batch, int channels, int height, int width,
                                int outputs, int output_height, int output_width, int padding, int lanes) {
    float *u = transformed_weights(w, channels, outputs, 1);
    if (!u) return -1;
    const blocked in = {outputs, output_height, output_width, lanes}, out = {channels, height, width, lanes};
    const int status = (dfkd_engine_kernels_use_avx2() ? convolve_avx2 : convolve_generic)(dy, in, u, NULL, NULL, dx, out, batch, 2 - padding);
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
    const blocked in = {channels, height, width, lanes}, out = {outputs, output_height, output_width, lanes};
    const int status = (dfkd_engine_kernels_use_avx2() ? gradient_points_avx2 : gradient_points_generic)(x, in, dy, out, s, sums,
                                                                                                          batch, padding);
    if (status == 0) {
        (dfkd_engine_kernels_use_avx2() ? weight_gradient_avx2 : weight_gradient_generic)(s, dw, outputs, channels);
        if (db) memcpy(db, sums, sizeof(float) * outputs);
    }
    free(s);
    free(sums);
    return status;
}
