/* The channel and element-wise kernels for one instruction set, compiled once per set
 * through isa_variants.h (which defines SUFFIX, TARGET, WIDTH, VEC, VECU, MASK, SELECT,
 * SPLAT, LANES and LANE). `subs` is the number of vectors per pixel of a blocked tensor
 * (lanes / WIDTH, 1 or 2), a constant in each inlined copy so that the accumulators stay in
 * registers. */

#define CONCAT_(a, b) a##b
#define CONCAT(a, b) CONCAT_(a, b)
#define NAME(base) CONCAT(base, SUFFIX)
#define LOAD(p) (*(const VECU *)(p))
#define STORE(p, v) (*(VECU *)(p) = (v))

/* `gated` (a constant in each inlined copy): dy counts only where gate_scale * x + gate_offset
 * > 0, the gradient of a ReLU applied to that affine map, rounded as the forward rounded it. */
static inline __attribute__((always_inline)) void NAME(sums_body_)(
    const float *x, const float *dy, const float *mean, const float *gate_scale, const float *gate_offset, long images,
    int blocks, long pixels, int channels, double *first, double *second, const int subs, const int gated) {
    const int lanes = subs * WIDTH;
    for (int block = 0; block < blocks; block++) {
        VEC m[2] = {SPLAT(0.0f), SPLAT(0.0f)}, gk[2] = {SPLAT(0.0f), SPLAT(0.0f)}, gc[2] = {SPLAT(0.0f), SPLAT(0.0f)};
        for (int s = 0; s < subs; s++) {
            if (mean) m[s] = LOAD(mean + block * lanes + s * WIDTH);
            if (gated) {
                gk[s] = LOAD(gate_scale + block * lanes + s * WIDTH);
                gc[s] = LOAD(gate_offset + block * lanes + s * WIDTH);
            }
        }
        const int active = channels - block * lanes < lanes ? channels - block * lanes : lanes;
        for (long image = 0; image < images; image++) {
            const long base = (image * blocks + block) * pixels * lanes;
            const float *p = x + base;
            VEC a[2] = {SPLAT(0.0f), SPLAT(0.0f)}, b[2] = {SPLAT(0.0f), SPLAT(0.0f)};
            const float *d = dy + base;
            for (long i = 0; i < pixels; i++, p += lanes, d += lanes)
                for (int s = 0; s < subs; s++) {
                    const VEC v = LOAD(p + s * WIDTH);
                    VEC g = LOAD(d + s * WIDTH);
                    if (gated) g = SELECT(gk[s] * v + gc[s] > SPLAT(0.0f), g, SPLAT(0.0f));
                    a[s] = a[s] + g;
                    b[s] = b[s] + g * (v - m[s]);
                }
            for (int s = 0; s < subs; s++)
                for (int l = 0; l < WIDTH && s * WIDTH + l < active; l++) {
                    first[block * lanes + s * WIDTH + l] += (double)LANE(a[s], l);
                    second[block * lanes + s * WIDTH + l] += (double)LANE(b[s], l);
                }
        }
    }
}

TARGET static void NAME(channel_sums_)(const float *x, const float *dy, const float *mean, const float *gate_scale,
                                       const float *gate_offset, long images, int blocks, int lanes, long pixels,
                                       int channels, double *first, double *second) {
#define SUMS(subs, gated) \
    NAME(sums_body_)(x, dy, mean, gate_scale, gate_offset, images, blocks, pixels, channels, first, second, subs, gated)
    if (gate_scale) {
        if (lanes == 2 * WIDTH) SUMS(2, 1); else SUMS(1, 1);
    } else {
        if (lanes == 2 * WIDTH) SUMS(2, 0); else SUMS(1, 0);
    }
#undef SUMS
}

/* Per channel: sum(x), and the squared deviations from the channel's mean summed, with one
 * pass over memory. Each (image, block) plane is summed, then its deviations from its mean
 * and their squares are summed while it is still in the cache (in float, lane by lane, as
 * sums_body_ sums), and the planes are combined in double by combine_plane. */
static inline __attribute__((always_inline)) void NAME(moments_body_)(const float *x, long images, int blocks, long pixels,
                                                                     int channels, double *sum, double *deviations,
                                                                     const int subs) {
    const int lanes = subs * WIDTH;
    const VEC count = SPLAT((float)pixels);
    for (int block = 0; block < blocks; block++) {
        const int active = channels - block * lanes < lanes ? channels - block * lanes : lanes;
        for (long image = 0; image < images; image++) {
            const float *plane = x + (image * blocks + block) * pixels * lanes;
            VEC a[2] = {SPLAT(0.0f), SPLAT(0.0f)}, m[2];
            VEC d[2] = {SPLAT(0.0f), SPLAT(0.0f)}, b[2] = {SPLAT(0.0f), SPLAT(0.0f)};
            for (long i = 0; i < pixels; i++)
                for (int s = 0; s < subs; s++) a[s] = a[s] + LOAD(plane + i * lanes + s * WIDTH);
            for (int s = 0; s < subs; s++) m[s] = a[s] / count;
            for (long i = 0; i < pixels; i++)
                for (int s = 0; s < subs; s++) {
                    const VEC deviation = LOAD(plane + i * lanes + s * WIDTH) - m[s];
                    d[s] = d[s] + deviation;
                    b[s] = b[s] + deviation * deviation;
                }
            for (int s = 0; s < subs; s++)
                for (int l = 0; l < WIDTH && s * WIDTH + l < active; l++) {
                    const int channel = block * lanes + s * WIDTH + l;
                    combine_plane(image, pixels, LANE(m[s], l), LANE(d[s], l), LANE(b[s], l), sum + channel, deviations + channel);
                }
        }
    }
}

TARGET static void NAME(channel_moments_)(const float *x, long images, int blocks, int lanes, long pixels, int channels,
                                          double *sum, double *deviations) {
    if (lanes == 2 * WIDTH) NAME(moments_body_)(x, images, blocks, pixels, channels, sum, deviations, 2);
    else NAME(moments_body_)(x, images, blocks, pixels, channels, sum, deviations, 1);
}

/* One element of an affine map. Without dy: k x + c, rectified (0 where not above 0) when
 * `rectify`. With dy: (a g + k x) + c, g being dy gated as in the sums when `gated`. */
#define AFFINE_ELEMENT(T, splat, select, a, k, c, gk, gc, dy_value, x_value, has_dy, rectify, gated) ({       \
    const T v_ = (x_value);                                                                              \
    T r_;                                                                                                \
    if (has_dy) {                                                                                        \
        T g_ = (dy_value);                                                                               \
        if (gated) g_ = select((gk) * v_ + (gc) > splat(0.0f), g_, splat(0.0f));                         \
        r_ = ((a) * g_ + (k) * v_) + (c);                                                                \
    } else {                                                                                             \
        r_ = (k) * v_ + (c);                                                                             \
        if (rectify) r_ = select(splat(0.0f) >= r_, splat(0.0f), r_);                                    \
    }                                                                                                    \
    r_;                                                                                                  \
})
#define SCALAR_SELECT(m, a, b) ((m) ? (a) : (b))
#define SCALAR_SPLAT(s) (s)

static inline __attribute__((always_inline)) void NAME(affine_body_)(
    const float *dy, const float *x, float *out, const float *dy_scale, const float *x_scale, const float *offset,
    const float *gate_scale, const float *gate_offset, long images, int blocks, long pixels, const int subs,
    const int has_dy, const int rectify, const int gated) {
    const int lanes = subs * WIDTH;
    for (int block = 0; block < blocks; block++) {
        VEC a[2], k[2], c[2], gk[2] = {SPLAT(0.0f), SPLAT(0.0f)}, gc[2] = {SPLAT(0.0f), SPLAT(0.0f)};
        for (int s = 0; s < subs; s++) {
            const int at = block * lanes + s * WIDTH;
            a[s] = has_dy ? LOAD(dy_scale + at) : SPLAT(0.0f);
            k[s] = LOAD(x_scale + at);
            c[s] = LOAD(offset + at);
            if (gated) {
                gk[s] = LOAD(gate_scale + at);
                gc[s] = LOAD(gate_offset + at);
            }
        }
        for (long image = 0; image < images; image++) {
            const long base = (image * blocks + block) * pixels * lanes;
            const long end = pixels * lanes;
            for (long i = 0; i < end; i += lanes)
                for (int s = 0; s < subs; s++) {
                    const long at = base + i + s * WIDTH;
                    STORE(out + at, AFFINE_ELEMENT(VEC, SPLAT, SELECT, a[s], k[s], c[s], gk[s], gc[s],
                                                   has_dy ? LOAD(dy + at) : SPLAT(0.0f), LOAD(x + at), has_dy,
                                                   rectify, gated));
                }
        }
    }
}

/* A plain tensor: one coefficient per plane, vectorised along the plane. */
static inline __attribute__((always_inline)) void NAME(affine_plain_body_)(
    const float *dy, const float *x, float *out, const float *dy_scale, const float *x_scale, const float *offset,
    const float *gate_scale, const float *gate_offset, long images, int channels, long pixels, const int has_dy,
    const int rectify, const int gated) {
    for (long plane = 0; plane < images * channels; plane++) {
        const int channel = (int)(plane % channels);
        const float as = has_dy ? dy_scale[channel] : 0.0f, ks = x_scale[channel], cs = offset[channel];
        const float gks = gated ? gate_scale[channel] : 0.0f, gcs = gated ? gate_offset[channel] : 0.0f;
        const VEC a = SPLAT(as), k = SPLAT(ks), c = SPLAT(cs), gk = SPLAT(gks), gc = SPLAT(gcs);
        const long base = plane * pixels;
        long i = 0;
        for (; i + WIDTH <= pixels; i += WIDTH)
            STORE(out + base + i, AFFINE_ELEMENT(VEC, SPLAT, SELECT, a, k, c, gk, gc,
                                                 has_dy ? LOAD(dy + base + i) : SPLAT(0.0f), LOAD(x + base + i),
                                                 has_dy, rectify, gated));
        for (; i < pixels; i++)
            out[base + i] = AFFINE_ELEMENT(float, SCALAR_SPLAT, SCALAR_SELECT, as, ks, cs, gks, gcs,
                                           has_dy ? dy[base + i] : 0.0f, x[base + i], has_dy, rectify, gated);
    }
}

/* Instantiates `body` for each combination of the flags a call can ask for, each with its
 * own constant flags so that the inner loops carry no branch. */
#define AFFINE_VARIANTS(body, ...)                                                  \
    if (!dy) {                                                                      \
        if (rectify) body(__VA_ARGS__, 0, 1, 0); else body(__VA_ARGS__, 0, 0, 0);   \
    } else {                                                                        \
        if (gate_scale) body(__VA_ARGS__, 1, 0, 1); else body(__VA_ARGS__, 1, 0, 0);\
    }

TARGET static void NAME(affine_plain_)(const float *dy, const float *x, float *out, const float *dy_scale,
                                       const float *x_scale, const float *offset, const float *gate_scale,
                                       const float *gate_offset, int rectify, long images, int channels, long pixels) {
    AFFINE_VARIANTS(NAME(affine_plain_body_), dy, x, out, dy_scale, x_scale, offset, gate_scale, gate_offset, images,
                    channels, pixels)
}

TARGET static void NAME(channel_affine_)(const float *dy, const float *x, float *out, const float *dy_scale,
                                         const float *x_scale, const float *offset, const float *gate_scale,
                                         const float *gate_offset, int rectify, long images, int blocks, int lanes,
                                         long pixels) {
    if (lanes == 2 * WIDTH) {
        AFFINE_VARIANTS(NAME(affine_body_), dy, x, out, dy_scale, x_scale, offset, gate_scale, gate_offset, images,
                        blocks, pixels, 2)
    } else {
        AFFINE_VARIANTS(NAME(affine_body_), dy, x, out, dy_scale, x_scale, offset, gate_scale, gate_offset, images,
                        blocks, pixels, 1)
    }
}

#undef AFFINE_VARIANTS
#undef SCALAR_SPLAT
#undef SCALAR_SELECT
#undef AFFINE_ELEMENT

/* Element-wise: whole vectors, then the tail one float at a time with the same formula. */
#define ELEMENTWISE(name, parameters, vector_expression, scalar_expression)                        \
    TARGET static void NAME(name)(parameters, long count) {                                        \
        long i = 0;                                                                                 \
        for (; i + WIDTH <= count; i += WIDTH) { vector_expression; }                               \
        for (; i < count; i++) { scalar_expression; }                                               \
    }
#define COMMA ,

ELEMENTWISE(relu_forward_, const float *x COMMA float *out,
            const VEC v = LOAD(x + i); STORE(out + i, SELECT(SPLAT(0.0f) >= v, SPLAT(0.0f), v)),
            out[i] = 0.0f >= x[i] ? 0.0f : x[i])
ELEMENTWISE(relu_backward_, const float *dy COMMA const float *y COMMA float *dx,
            STORE(dx + i, SELECT(LOAD(y + i) > SPLAT(0.0f), LOAD(dy + i), SPLAT(0.0f))),
            dx[i] = y[i] > 0.0f ? dy[i] : 0.0f)
ELEMENTWISE(add_, const float *a COMMA const float *b COMMA float *out,
            STORE(out + i, LOAD(a + i) + LOAD(b + i)),
            out[i] = a[i] + b[i])
ELEMENTWISE(add_in_place_, float *target COMMA const float *value,
            STORE(target + i, LOAD(target + i) + LOAD(value + i)),
            target[i] += value[i])

TARGET static void NAME(leaky_relu_forward_)(const float *x, float *out, long count, float slope) {
    long i = 0;
    for (; i + WIDTH <= count; i += WIDTH) {
        const VEC v = LOAD(x + i);
        STORE(out + i, SELECT(v > SPLAT(0.0f), v, v * SPLAT(slope)));
    }
    for (; i < count; i++) out[i] = x[i] > 0.0f ? x[i] : x[i] * slope;
}

TARGET static void NAME(leaky_relu_backward_)(const float *dy, const float *y, float *dx, long count, float slope) {
    long i = 0;
    for (; i + WIDTH <= count; i += WIDTH) {
        const VEC d = LOAD(dy + i);
        STORE(dx + i, SELECT(LOAD(y + i) > SPLAT(0.0f), d, d * SPLAT(slope)));
    }
    for (; i < count; i++) dx[i] = y[i] > 0.0f ? dy[i] : dy[i] * slope;
}

#undef COMMA
#undef ELEMENTWISE
#undef STORE
#undef LOAD
#undef NAME
#undef CONCAT
#undef CONCAT_
