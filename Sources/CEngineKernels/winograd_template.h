/* The Winograd kernels for one vector width, included by winograd_kernels.c once per
 * instruction set, which defines before each inclusion:
 *   SUFFIX       appended to the kernels' names: avx512, avx2, generic
 *   TARGET       the target attribute of the kernels (or nothing)
 *   WIDTH        channels per vector, and per group of a tile's channels: 16 or 8
 *   VEC, VECU    the vector type, and its variant for loads and stores at any float offset
 * A lane computes the same operations in the same order whatever the width, so the AVX-512
 * and AVX2 kernels give the same bits. */

#define CONCAT_(a, b) a##b
#define CONCAT(a, b) CONCAT_(a, b)
#define NAME(base) CONCAT(base, SUFFIX)
#define LOAD(p) (*(const VECU *)(p))
#define STORE(p, v) (*(VECU *)(p) = (v))

/* Where the WIDTH channels of group `group` of image n start; their pixels are `lanes` apart.
 * Called for every tile and group, so it divides by nothing: `lanes` is WIDTH or twice it. */
INLINE long NAME(group_start_)(blocked t, int n, int group) {
    const int block = t.lanes == WIDTH ? group : group >> 1, within = t.lanes == WIDTH ? 0 : (group & 1) * WIDTH;
    return (long)n * t.channels * t.height * t.width + (long)block * t.height * t.width * t.lanes + within;
}

/* B^T d for six values `in` apart, into six values `out` apart. */
INLINE void NAME(input_line_)(const VEC *d, int in, VEC *r, int out) {
    const VEC d0 = d[0], d1 = d[in], d2 = d[2 * in], d3 = d[3 * in], d4 = d[4 * in], d5 = d[5 * in];
    r[0] = (d4 - 5.0f * d2) + 4.0f * d0;
    r[out] = (d3 + d4) - 4.0f * (d1 + d2);
    r[2 * out] = (d4 - d3) + 4.0f * (d1 - d2);
    r[3 * out] = (d4 - d2) + 2.0f * (d3 - d1);
    r[4 * out] = (d4 - d2) - 2.0f * (d3 - d1);
    r[5 * out] = (d5 - 5.0f * d3) + 4.0f * d1;
}

/* A^T m: six values to four. */
INLINE void NAME(output_line_)(const VEC *m, int in, VEC *o, int out) {
    const VEC sum12 = m[in] + m[2 * in], difference12 = m[in] - m[2 * in];
    const VEC sum34 = m[3 * in] + m[4 * in], difference34 = m[3 * in] - m[4 * in];
    o[0] = (m[0] + sum12) + sum34;
    o[out] = difference12 + 2.0f * difference34;
    o[2 * out] = sum12 + 4.0f * sum34;
    o[3 * out] = (difference12 + 8.0f * difference34) + m[5 * in];
}

/* A y: four values to six (an output gradient's tile, for the weight gradient). */
INLINE void NAME(gradient_line_)(const VEC *y, int in, VEC *z, int out) {
    const VEC even = y[0] + y[2 * in], odd = y[in] + y[3 * in];
    const VEC even4 = y[0] + 4.0f * y[2 * in], odd4 = 2.0f * y[in] + 8.0f * y[3 * in];
    z[0] = y[0];
    z[out] = even + odd;
    z[2 * out] = even - odd;
    z[3 * out] = even4 + odd4;
    z[4 * out] = even4 - odd4;
    z[5 * out] = y[3 * in];
}

/* Asks for the rows of a patch a few tiles ahead to be brought into the cache: with two
 * tensors of several planes of channels each, a tile reads more rows at once than the hardware
 * prefetcher follows. */
INLINE void NAME(prefetch_patch_)(const float *plane, blocked t, int top, int left, int size, const int WRITE) {
    const int first = left < 0 ? 0 : left, last = left + size > t.width ? t.width - 1 : left + size - 1;
    if (first > last) return;
    for (int r = top < 0 ? 0 : top; r < top + size && r < t.height; r++) {
        const char *row = (const char *)(plane + (long)r * t.width * t.lanes);
        for (long byte = (long)first * t.lanes * 4; byte <= ((long)last * t.lanes + WIDTH - 1) * 4; byte += 64)
            if (WRITE) __builtin_prefetch(row + byte, 1); else __builtin_prefetch(row + byte, 0);
    }
}

/* The 36 points of the 6x6 patch whose top left is (top, left) (zero outside the tensor),
 * WIDTH channels of them: point p goes to points + p * stride. */
INLINE void NAME(transform_input_tile_)(const float *plane, blocked t, int top, int left, float *points, long stride) {
    VEC e[PATCH][PATCH];
    const int inside = top >= 0 && left >= 0 && top + PATCH <= t.height && left + PATCH <= t.width;
    /* A column at a time from memory: with the whole patch loaded first, it took two trips
     * through the stack. */
    for (int c = 0; c < PATCH; c++) {
        VEC d[PATCH];
        const int x = left + c;
        for (int r = 0; r < PATCH; r++) {
            const int y = top + r;
            d[r] = inside || (y >= 0 && y < t.height && x >= 0 && x < t.width) ? LOAD(plane + ((long)y * t.width + x) * t.lanes)
                                                                              : (VEC){0};
        }
        NAME(input_line_)(d, 1, &e[0][c], PATCH);
    }
    for (int r = 0; r < PATCH; r++) {
        VEC row[PATCH];
        NAME(input_line_)(e[r], 1, row, 1);
        for (int c = 0; c < PATCH; c++) STORE(points + (long)(r * PATCH + c) * stride, row[c]);
    }
}

/* The 4x4 outputs at (top, left) from their 36 summed products (WIDTH output channels),
 * plus the bias, plus the residual's values at the same place where `residual` (a plane
 * like `plane`) is not NULL; outputs beyond the tensor's edge are dropped. */
INLINE void NAME(transform_output_tile_)(const float *points, long stride, float *plane, blocked t, int top, int left,
                                         const float *bias, const float *residual) {
    VEC half[TILE][PATCH];
    for (int c = 0; c < PATCH; c++) { /* a column at a time from memory, as the input's */
        VEC m[PATCH];
        for (int r = 0; r < PATCH; r++) m[r] = LOAD(points + (r * PATCH + c) * stride);
        NAME(output_line_)(m, 1, &half[0][c], PATCH);
    }
    const VEC b = bias ? LOAD(bias) : (VEC){0};
    const int rows = t.height - top < TILE ? t.height - top : TILE;
    const int columns = t.width - left < TILE ? t.width - left : TILE;
    for (int r = 0; r < rows; r++) {
        VEC o[TILE];
        NAME(output_line_)(half[r], 1, o, 1);
        for (int c = 0; c < columns; c++) {
            const long at = ((long)(top + r) * t.width + left + c) * t.lanes;
            /* The sum rounds as a separate addition of the residual after the convolution. */
            STORE(plane + at, residual ? (o[c] + b) + LOAD(residual + at) : o[c] + b);
        }
    }
}

/* The 36 points of the output gradient's 4x4 tile at (top, left) (zero beyond the edge),
 * WIDTH channels; adds the tile's values to `sums` (the bias gradient). */
INLINE void NAME(transform_gradient_tile_)(const float *plane, blocked t, int top, int left, float *points, long stride, float *sums) {
    VEC half[PATCH][TILE];
    VEC total = {0};
    for (int c = 0; c < TILE; c++) {
        VEC y[TILE];
        for (int r = 0; r < TILE; r++) {
            const int inside = top + r < t.height && left + c < t.width;
            y[r] = inside ? LOAD(plane + ((long)(top + r) * t.width + left + c) * t.lanes) : (VEC){0};
            total += y[r];
        }
        NAME(gradient_line_)(y, 1, &half[0][c], TILE);
    }
    STORE(sums, LOAD(sums) + total);
    for (int r = 0; r < PATCH; r++) {
        VEC z[PATCH];
        NAME(gradient_line_)(half[r], 1, z, 1);
        for (int c = 0; c < PATCH; c++) STORE(points + (long)(r * PATCH + c) * stride, z[c]);
    }
}

/* m[t][k] = sum over c of v[t][c] * u[k / WIDTH][c][k % WIDTH] for ROWS_ tiles and COLUMNS WIDTH-output
 * groups: the accumulators stay in registers. */
INLINE void NAME(product_block_)(const float *v, const float *u, float *m, int channels, long v_row, long m_row, const int ROWS_,
                                 const int COLUMNS) {
    VEC sums[ROWS][2] = {{{0}}};
    const float *u1 = u + (long)channels * WIDTH;
    for (int c = 0; c < channels; c++) {
        const VEC b0 = LOAD(u + c * WIDTH), b1 = COLUMNS == 2 ? LOAD(u1 + c * WIDTH) : (VEC){0};
        for (int r = 0; r < ROWS_; r++) {
            const float a = v[r * v_row + c];
            sums[r][0] += a * b0;
            if (COLUMNS == 2) sums[r][1] += a * b1;
        }
    }
    for (int r = 0; r < ROWS_; r++) {
        STORE(m + r * m_row, sums[r][0]);
        if (COLUMNS == 2) STORE(m + r * m_row + WIDTH, sums[r][1]);
    }
}

/* One point's products for `count` tiles: v (a row of `channels` per tile, rows v_row apart),
 * u [outputs / WIDTH][channels][WIDTH], m (a row of `outputs` per tile, m_row apart). */
INLINE void NAME(multiply_point_)(const float *v, const float *u, float *m, int count, int channels, int outputs, long v_row, long m_row) {
    const int groups = outputs / WIDTH;
    for (int g = 0; g < groups; g += 2) {
        const float *ug = u + (long)g * channels * WIDTH;
        for (int t = 0; t < count; t += ROWS) {
            const int rows = count - t < ROWS ? count - t : ROWS;
            const float *vt = v + t * v_row;
            float *mt = m + t * m_row + g * WIDTH;
            if (groups - g >= 2) {
                BY_ROWS(NAME(product_block_), rows, 2, vt, ug, mt, channels, v_row, m_row)
            } else {
                BY_ROWS(NAME(product_block_), rows, 1, vt, ug, mt, channels, v_row, m_row)
            }
        }
    }
}

/* s[c][k] += sum over t of v[t][c] * z[t][k] for ROWS_ input channels and COLUMNS WIDTH-output
 * groups. */
INLINE void NAME(gradient_block_)(const float *v, const float *z, float *s, int count, int outputs, long v_row, long z_row,
                                  const int ROWS_, const int COLUMNS) {
    VEC sums[ROWS][2] = {{{0}}};
    for (int t = 0; t < count; t++) {
        const float *zt = z + t * z_row, *vt = v + t * v_row;
        const VEC b0 = LOAD(zt), b1 = COLUMNS == 2 ? LOAD(zt + WIDTH) : (VEC){0};
        for (int r = 0; r < ROWS_; r++) {
            const float a = vt[r];
            sums[r][0] += a * b0;
            if (COLUMNS == 2) sums[r][1] += a * b1;
        }
    }
    for (int r = 0; r < ROWS_; r++) {
        STORE(s + (long)r * outputs, LOAD(s + (long)r * outputs) + sums[r][0]);
        if (COLUMNS == 2) STORE(s + (long)r * outputs + WIDTH, LOAD(s + (long)r * outputs + WIDTH) + sums[r][1]);
    }
}

/* One point's weight-gradient sums over `count` tiles: v (a row of `channels` per tile, v_row
 * apart), z (a row of `outputs`, z_row apart), s [channels][outputs]. */
INLINE void NAME(accumulate_point_)(const float *v, const float *z, float *s, int count, int channels, int outputs, long v_row,
                                    long z_row) {
    const int groups = outputs / WIDTH;
    for (int c = 0; c < channels; c += ROWS) {
        const int rows = channels - c < ROWS ? channels - c : ROWS;
        for (int g = 0; g < groups; g += 2) {
            float *sc = s + (long)c * outputs + g * WIDTH;
            if (groups - g >= 2) {
                BY_ROWS(NAME(gradient_block_), rows, 2, v + c, z + g * WIDTH, sc, count, outputs, v_row, z_row)
            } else {
                BY_ROWS(NAME(gradient_block_), rows, 1, v + c, z + g * WIDTH, sc, count, outputs, v_row, z_row)
            }
        }
    }
}

/* The input's points of tiles start ..< start + count into v, a row of 36 x channels per tile. */
INLINE void NAME(transform_input_chunk_)(const float *x, blocked in, int padding, tiling tiles, long start, int count, float *v) {
    tile_place place, ahead;
    start_walk(start, tiles, &place, &ahead);
    for (int t = 0; t < count; t++, place = next_place(place, tiles), ahead = next_place(ahead, tiles)) {
        for (int g = 0; g < in.channels / WIDTH; g++) {
            NAME(prefetch_patch_)(x + NAME(group_start_)(in, ahead.image, g), in, ahead.top - padding, ahead.left - padding, PATCH, 0);
            NAME(transform_input_tile_)(x + NAME(group_start_)(in, place.image, g), in, place.top - padding, place.left - padding,
                                        v + (long)t * POINTS * in.channels + g * WIDTH, in.channels);
        }
    }
}

/* out = the convolution of in with the transformed weights u ([36][outputs / WIDTH][channels][WIDTH]),
 * plus residual (laid out as out) where it is not NULL. */
TARGET static int NAME(convolve_)(const float *x, blocked in, const float *u, const float *bias, const float *residual, float *y,
                                  blocked out, int batch, int padding) {
    const int channels = in.channels, outputs = out.channels;
    const tiling tiles = tiling_of(in, out, batch);
    float *v, *m;
    if (allocate_chunk_buffers(tiles, channels, outputs, &v, &m) != 0) return -1;
    for (long start = 0; start < tiles.total; start += tiles.chunk) {
        const int count = (int)(tiles.total - start < tiles.chunk ? tiles.total - start : tiles.chunk);
        NAME(transform_input_chunk_)(x, in, padding, tiles, start, count, v);
        for (int p = 0; p < POINTS; p++)
            NAME(multiply_point_)(v + (long)p * channels, u + (long)p * channels * outputs, m + (long)p * outputs, count, channels, outputs,
                                  (long)POINTS * channels, (long)POINTS * outputs);
        tile_place place, ahead;
        start_walk(start, tiles, &place, &ahead);
        for (int t = 0; t < count; t++, place = next_place(place, tiles), ahead = next_place(ahead, tiles)) {
            for (int g = 0; g < outputs / WIDTH; g++) {
                const long here = NAME(group_start_)(out, place.image, g), there = NAME(group_start_)(out, ahead.image, g);
                NAME(prefetch_patch_)(y + there, out, ahead.top, ahead.left, TILE, 1);
                if (residual) NAME(prefetch_patch_)(residual + there, out, ahead.top, ahead.left, TILE, 0);
                NAME(transform_output_tile_)(m + (long)t * POINTS * outputs + g * WIDTH, outputs, y + here, out, place.top, place.left,
                                             bias ? bias + g * WIDTH : NULL, residual ? residual + here : NULL);
            }
        }
    }
    free(v);
    free(m);
    return 0;
}

/* s ([36][channels][outputs]) = the sum over tiles of the input's points times the output
 * gradient's; sums ([outputs]) = the output gradient's sum. */
TARGET static int NAME(gradient_points_)(const float *x, blocked in, const float *dy, blocked out, float *s, float *sums, int batch,
                                         int padding) {
    const int channels = in.channels, outputs = out.channels;
    const tiling tiles = tiling_of(in, out, batch);
    float *v, *z;
    if (allocate_chunk_buffers(tiles, channels, outputs, &v, &z) != 0) return -1;
    for (long start = 0; start < tiles.total; start += tiles.chunk) {
        const int count = (int)(tiles.total - start < tiles.chunk ? tiles.total - start : tiles.chunk);
        NAME(transform_input_chunk_)(x, in, padding, tiles, start, count, v);
        tile_place place, ahead;
        start_walk(start, tiles, &place, &ahead);
        for (int t = 0; t < count; t++, place = next_place(place, tiles), ahead = next_place(ahead, tiles)) {
            for (int g = 0; g < outputs / WIDTH; g++) {
                NAME(prefetch_patch_)(dy + NAME(group_start_)(out, ahead.image, g), out, ahead.top, ahead.left, TILE, 0);
                NAME(transform_gradient_tile_)(dy + NAME(group_start_)(out, place.image, g), out, place.top, place.left,
                                               z + (long)t * POINTS * outputs + g * WIDTH, outputs, sums + g * WIDTH);
            }
        }
        for (int p = 0; p < POINTS; p++)
            NAME(accumulate_point_)(v + (long)p * channels, z + (long)p * outputs, s + (long)p * channels * outputs, count, channels,
                                    outputs, (long)POINTS * channels, (long)POINTS * outputs);
    }
    free(v);
    free(z);
    return 0;
}

/* G g: a kernel's three taps to six points. */
INLINE void NAME(kernel_line_)(const VEC *g, int in, VEC *u, int out) {
    const VEC outer = g[0] + g[2 * in], weighted = (1.0f / 24) * g[0] + (1.0f / 6) * g[2 * in];
    u[0] = 0.25f * g[0];
    u[out] = (-1.0f / 6) * (outer + g[in]);
    u[2 * out] = (-1.0f / 6) * (outer - g[in]);
    u[3 * out] = weighted + (1.0f / 12) * g[in];
    u[4 * out] = weighted - (1.0f / 12) * g[in];
    u[5 * out] = g[2 * in];
}

/* G^T s: six points' sums to three taps (the weight gradient). */
INLINE void NAME(tap_line_)(const VEC *s, int in, VEC *w, int out) {
    const VEC sum12 = s[in] + s[2 * in], sum34 = s[3 * in] + s[4 * in];
    w[0] = (0.25f * s[0] - (1.0f / 6) * sum12) + (1.0f / 24) * sum34;
    w[out] = (1.0f / 6) * (s[2 * in] - s[in]) + (1.0f / 12) * (s[3 * in] - s[4 * in]);
    w[2 * out] = (1.0f / 6) * (sum34 - sum12) + s[5 * in];
}

/* u[p][o / WIDTH][c][o % WIDTH] = (G g G^T)[p] for the 3x3 kernel g of output o and input c, WIDTH
 * outputs at a time. `flipped`: the convolution that computes an input gradient, whose output o
 * is the original's input and whose kernels are the original's turned by 180 degrees. */
TARGET static void NAME(transform_weights_)(const float *w, float *u, int outputs, int channels, int flipped) {
    for (int group = 0; group < outputs / WIDTH; group++)
        for (int c = 0; c < channels; c++) {
            VEC g[3][3], half[PATCH][3], points[PATCH];
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++)
                    for (int l = 0; l < WIDTH; l++) {
                        const long o = (long)group * WIDTH + l;
                        g[a][b][l] = flipped ? w[((c * outputs + o) * 3 + 2 - a) * 3 + 2 - b] : w[((o * channels + c) * 3 + a) * 3 + b];
                    }
            for (int b = 0; b < 3; b++) NAME(kernel_line_)(&g[0][b], 3, &half[0][b], 3);
            for (int p = 0; p < PATCH; p++) {
                NAME(kernel_line_)(half[p], 1, points, 1);
                for (int q = 0; q < PATCH; q++)
                    STORE(u + (((long)(p * PATCH + q) * (outputs / WIDTH) + group) * channels + c) * WIDTH, points[q]);
            }
        }
}

/* dw[o][c] = G^T S G from the summed points s[p][c][o], WIDTH outputs at a time. */
TARGET static void NAME(weight_gradient_)(const float *s, float *dw, int outputs, int channels) {
    for (int group = 0; group < outputs / WIDTH; group++)
        for (int c = 0; c < channels; c++) {
            VEC points[PATCH][PATCH], half[3][PATCH], taps[3][3];
            for (int p = 0; p < POINTS; p++) points[p / PATCH][p % PATCH] = LOAD(s + ((long)p * channels + c) * outputs + group * WIDTH);
            for (int q = 0; q < PATCH; q++) NAME(tap_line_)(&points[0][q], PATCH, &half[0][q], PATCH);
            for (int a = 0; a < 3; a++) NAME(tap_line_)(half[a], 1, taps[a], 1);
            for (int l = 0; l < WIDTH; l++)
                for (int a = 0; a < 3; a++)
                    for (int b = 0; b < 3; b++) dw[((((long)group * WIDTH + l) * channels + c) * 3 + a) * 3 + b] = taps[a][b][l];
        }
}

#undef CONCAT_
#undef CONCAT
#undef NAME
#undef LOAD
#undef STORE
