/* The pooling kernels for one instruction set, compiled once per set through isa_variants.h
 * (which defines SUFFIX, TARGET, WIDTH, VEC, VECU, MASK, SELECT, SPLAT and LANES). */

#define CONCAT_(a, b) a##b
#define CONCAT(a, b) CONCAT_(a, b)
#define NAME(base) CONCAT(base, SUFFIX)
#define LOAD(p) (*(const VECU *)(p))
#define STORE(p, v) (*(VECU *)(p) = (v))

/* Stores the maximum of four lane vectors of 2 x 2 windows (v0 v1 above v2 v3) at `best` and
 * its position at `at`. */
#define MAX_OF_2X2(v0, v1, v2, v3, best, at) \
    do { \
        const MASK first = ((v1) > (v0)) | ((v1) != (v1)), second = ((v3) > (v2)) | ((v3) != (v3)); \
        const VEC upper = SELECT(first, v1, v0), lower = SELECT(second, v3, v2); \
        const MASK last = (lower > upper) | (lower != lower); \
        STORE(best, SELECT(last, lower, upper)); \
        STORE(at, SELECT(last, SELECT(second, SPLAT(3.0f), SPLAT(2.0f)), SELECT(first, SPLAT(1.0f), SPLAT(0.0f)))); \
    } while (0)

/* The gradient shares of the four inputs of 2 x 2 windows (q0 q1 above q2 q3): the whole
 * gradient at the position recorded at `at` (max pooling), or a quarter each where `at` is
 * NULL (average pooling). */
#define SHARES_OF_2X2(gradient, at, q0, q1, q2, q3) \
    do { \
        const VEC gradient_ = (gradient); \
        const float *at_ = (at); \
        if (at_) { \
            const VEC where_ = LOAD(at_), zero_ = SPLAT(0.0f); \
            q0 = SELECT(where_ == SPLAT(0.0f), gradient_, zero_); \
            q1 = SELECT(where_ == SPLAT(1.0f), gradient_, zero_); \
            q2 = SELECT(where_ == SPLAT(2.0f), gradient_, zero_); \
            q3 = SELECT(where_ == SPLAT(3.0f), gradient_, zero_); \
        } else { \
            q0 = q1 = q2 = q3 = gradient_ * SPLAT(0.25f); \
        } \
    } while (0)

/* Max pooling with 2 x 2 windows at stride 2 over whole input rows, the most common
 * geometry, unrolled (and vectorised along the row where lanes are 1): the two pairs of a window are compared first, then their winners, which
 * keeps the rule (a NaN wins, the last one; else the first maximum) and halves the chain of
 * dependent comparisons. */
TARGET static void NAME(max_forward_2x2_)(const float *x, float *out, float *positions, long planes, int any_lanes,
                                          const dfkd_pooling_window *w) {
    const int lanes = LANES(any_lanes);
    const long row = (long)w->input_width * lanes;
    const int output_height = w->output_height, output_width = w->output_width;
    long o = 0;
    for (long p = 0; p < planes; p++) {
        for (int oy = 0; oy < output_height; oy++) {
            const float *top = x + (p * w->input_height + 2 * oy) * row;
            for (int ox = 0; ox < output_width; ox++, o += lanes) {
                for (int l = 0; l < lanes; l += WIDTH) {
                    const float *corner = top + 2L * ox * lanes + l;
                    const VEC v0 = LOAD(corner), v1 = LOAD(corner + lanes), v2 = LOAD(corner + row), v3 = LOAD(corner + row + lanes);
                    MAX_OF_2X2(v0, v1, v2, v3, out + o + l, positions + o + l);
                }
            }
        }
    }
}

/* Max pooling (`is_max`: the maximum and its position) or average pooling of any geometry.
 * Inlined with a constant flag, so that each is a loop of its own. */
static inline __attribute__((always_inline)) void NAME(forward_body_)(
    const float *x, float *out, float *positions, long planes, int lanes, const dfkd_pooling_window *w, const int is_max) {
    const long input_plane = (long)w->input_height * w->input_width * lanes;
    const long output_plane = (long)w->output_height * w->output_width * lanes;
    const float scale = 1.0f / (float)(w->kernel * w->kernel);
    for (long p = 0; p < planes; p++) {
        const float *plane = x + p * input_plane;
        long o = p * output_plane;
        for (int oy = 0; oy < w->output_height; oy++) {
            const int top = oy * w->stride - w->padding;
            const int r0 = window_first(top), r1 = window_end(top, w->kernel, w->input_height);
            for (int ox = 0; ox < w->output_width; ox++, o += lanes) {
                const int left = ox * w->stride - w->padding;
                const int c0 = window_first(left), c1 = window_end(left, w->kernel, w->input_width);
                for (int l = 0; l < lanes; l += WIDTH) {
                    VEC best = LOAD(plane + ((long)(top + r0) * w->input_width + left + c0) * lanes + l);
                    VEC at = SPLAT((float)(r0 * w->kernel + c0));
                    VEC sum = SPLAT(0.0f);
                    for (int r = r0; r < r1; r++) {
                        const float *row = plane + ((long)(top + r) * w->input_width + left) * lanes + l;
                        for (int c = c0; c < c1; c++) {
                            const VEC v = LOAD(row + (long)c * lanes);
                            if (is_max) {
                                const MASK wins = (v > best) | (v != v);
                                best = SELECT(wins, v, best);
                                at = SELECT(wins, SPLAT((float)(r * w->kernel + c)), at);
                            } else {
                                sum += v;
                            }
                        }
                    }
                    if (is_max) {
                        STORE(out + o + l, best);
                        STORE(positions + o + l, at);
                    } else {
                        STORE(out + o + l, sum * scale);
                    }
                }
            }
        }
    }
}

TARGET static void NAME(max_forward_)(const float *x, float *out, float *positions, long planes, int lanes,
                                      const dfkd_pooling_window *w) {
    if (is_whole_2x2(w)) NAME(max_forward_2x2_)(x, out, positions, planes, lanes, w);
    else NAME(forward_body_)(x, out, positions, planes, lanes, w, 1);
}

TARGET static void NAME(average_forward_)(const float *x, float *out, long planes, int lanes, const dfkd_pooling_window *w) {
    NAME(forward_body_)(x, out, NULL, planes, lanes, w, 0);
}

/* The share of each input of output o's window (max: the gradient at the recorded position,
 * zero elsewhere; average: an equal part) written (`accumulate` 0) or added. Writing is
 * right only where windows tile the input exactly, each input in one window; elsewhere the
 * plane is zeroed first and the shares added, as windows overlap or leave inputs out.
 * Inlined with constant flags, so that each combination is a loop of its own. */
static inline __attribute__((always_inline)) void NAME(scatter_body_)(
    const float *dy, const float *positions, float *dx, long planes, int lanes, const dfkd_pooling_window *w,
    const int has_positions, const int accumulate) {
    const long input_plane = (long)w->input_height * w->input_width * lanes;
    const long output_plane = (long)w->output_height * w->output_width * lanes;
    const float scale = 1.0f / (float)(w->kernel * w->kernel);
    for (long p = 0; p < planes; p++) {
        float *plane = dx + p * input_plane;
        if (accumulate) memset(plane, 0, sizeof(float) * (size_t)input_plane);
        long o = p * output_plane;
        for (int oy = 0; oy < w->output_height; oy++) {
            const int top = oy * w->stride - w->padding;
            const int r0 = window_first(top), r1 = window_end(top, w->kernel, w->input_height);
            for (int ox = 0; ox < w->output_width; ox++, o += lanes) {
                const int left = ox * w->stride - w->padding;
                const int c0 = window_first(left), c1 = window_end(left, w->kernel, w->input_width);
                for (int l = 0; l < lanes; l += WIDTH) {
                    const VEC gradient = LOAD(dy + o + l);
                    const VEC share = has_positions ? gradient : gradient * scale;
                    const VEC at = has_positions ? LOAD(positions + o + l) : SPLAT(0.0f);
                    for (int r = r0; r < r1; r++) {
                        float *row = plane + ((long)(top + r) * w->input_width + left) * lanes + l;
                        for (int c = c0; c < c1; c++) {
                            const VEC part = has_positions ? SELECT(at == SPLAT((float)(r * w->kernel + c)), share, SPLAT(0.0f)) : share;
                            float *target = row + (long)c * lanes;
                            STORE(target, accumulate ? LOAD(target) + part : part);
                        }
                    }
                }
            }
        }
    }
}

/* The scatter of 2 x 2 windows at stride 2 that cover the input: each input written once. */
static inline __attribute__((always_inline)) void NAME(scatter_2x2_)(
    const float *dy, const float *positions, float *dx, long planes, int any_lanes, const dfkd_pooling_window *w,
    const int has_positions) {
    const int lanes = LANES(any_lanes);
    const long row = (long)w->input_width * lanes;
    const int output_height = w->output_height, output_width = w->output_width;
    long o = 0;
    for (long p = 0; p < planes; p++) {
        for (int oy = 0; oy < output_height; oy++) {
            float *top = dx + (p * w->input_height + 2 * oy) * row;
            for (int ox = 0; ox < output_width; ox++, o += lanes) {
                for (int l = 0; l < lanes; l += WIDTH) {
                    float *corner = top + 2L * ox * lanes + l;
                    VEC q0, q1, q2, q3;
                    SHARES_OF_2X2(LOAD(dy + o + l), has_positions ? positions + o + l : NULL, q0, q1, q2, q3);
                    STORE(corner, q0);
                    STORE(corner + lanes, q1);
                    STORE(corner + row, q2);
                    STORE(corner + row + lanes, q3);
                }
            }
        }
    }
}

TARGET static void NAME(scatter_)(const float *dy, const float *positions, float *dx, long planes, int lanes,
                                  const dfkd_pooling_window *w, int accumulate) {
    if (is_whole_2x2(w)) {
        if (positions) NAME(scatter_2x2_)(dy, positions, dx, planes, lanes, w, 1);
        else NAME(scatter_2x2_)(dy, positions, dx, planes, lanes, w, 0);
    } else if (positions && accumulate) NAME(scatter_body_)(dy, positions, dx, planes, lanes, w, 1, 1);
    else if (positions) NAME(scatter_body_)(dy, positions, dx, planes, lanes, w, 1, 0);
    else if (accumulate) NAME(scatter_body_)(dy, positions, dx, planes, lanes, w, 0, 1);
    else NAME(scatter_body_)(dy, positions, dx, planes, lanes, w, 0, 0);
}

#if WIDTH == 8
/* Plain tensors (a channel per plane) under 2 x 2 windows at stride 2 that cover the input,
 * eight outputs of a row per vector: the windows' left and right columns are taken apart
 * from two vectors of each input row. A row whose outputs do not fill whole vectors ends with
 * a vector that overlaps the one before (the outputs they share are computed twice, to the
 * same values), so rows of at least eight outputs need no scalar tail; shorter ones take the
 * general loops. Output row r reads input rows 2r and 2r + 1, which follow each other. */
#define EVENS 0, 2, 4, 6, 8, 10, 12, 14
#define ODDS 1, 3, 5, 7, 9, 11, 13, 15
#define FIRST_HALVES 0, 8, 1, 9, 2, 10, 3, 11
#define SECOND_HALVES 4, 12, 5, 13, 6, 14, 7, 15

TARGET __attribute__((unused)) static void NAME(max_forward_plain_2x2_)(const float *x, float *out, float *positions, long planes,
                                                                      const dfkd_pooling_window *w) {
    const int width = w->input_width, output_width = w->output_width;
    const long rows = planes * w->output_height;
    for (long r = 0; r < rows; r++) {
        const float *top = x + 2 * r * width, *bottom = top + width;
        for (int next = 0; next < output_width;) {
            const int ox = next + WIDTH > output_width ? output_width - WIDTH : next;
            next = ox + WIDTH;
            const VEC t0 = LOAD(top + 2 * ox), t1 = LOAD(top + 2 * ox + WIDTH);
            const VEC b0 = LOAD(bottom + 2 * ox), b1 = LOAD(bottom + 2 * ox + WIDTH);
            const VEC v0 = __builtin_shufflevector(t0, t1, EVENS), v1 = __builtin_shufflevector(t0, t1, ODDS);
            const VEC v2 = __builtin_shufflevector(b0, b1, EVENS), v3 = __builtin_shufflevector(b0, b1, ODDS);
            MAX_OF_2X2(v0, v1, v2, v3, out + r * output_width + ox, positions + r * output_width + ox);
        }
    }
}

/* The scatter of those windows (max with positions, else average): each input written once. */
TARGET __attribute__((unused)) static void NAME(scatter_plain_2x2_)(const float *dy, const float *positions, float *dx, long planes,
                                                                  const dfkd_pooling_window *w) {
    const int width = w->input_width, output_width = w->output_width;
    const long rows = planes * w->output_height;
    for (long r = 0; r < rows; r++) {
        float *top = dx + 2 * r * width, *bottom = top + width;
        for (int next = 0; next < output_width;) {
            const int ox = next + WIDTH > output_width ? output_width - WIDTH : next;
            next = ox + WIDTH;
            VEC q0, q1, q2, q3;
            SHARES_OF_2X2(LOAD(dy + r * output_width + ox), positions ? positions + r * output_width + ox : NULL, q0, q1, q2, q3);
            STORE(top + 2 * ox, __builtin_shufflevector(q0, q1, FIRST_HALVES));
            STORE(top + 2 * ox + WIDTH, __builtin_shufflevector(q0, q1, SECOND_HALVES));
            STORE(bottom + 2 * ox, __builtin_shufflevector(q2, q3, FIRST_HALVES));
            STORE(bottom + 2 * ox + WIDTH, __builtin_shufflevector(q2, q3, SECOND_HALVES));
        }
    }
}
#undef SECOND_HALVES
#undef FIRST_HALVES
#undef ODDS
#undef EVENS
#endif

#undef SHARES_OF_2X2
#undef MAX_OF_2X2
#undef STORE
#undef LOAD
#undef NAME
#undef CONCAT
#undef CONCAT_
