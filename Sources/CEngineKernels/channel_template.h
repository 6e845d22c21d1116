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

static inline __attribute__((always_inline)) void NAME(sums_body_)(
    const float *x, const float *dy, const float *mean, long images, int blocks, long pixels, int channels,
    double *first, double *second, const int subs) {
    const int lanes = subs * WIDTH;
    for (int block = 0; block < blocks; block++) {
        VEC m[2] = {SPLAT(0.0f), SPLAT(0.0f)};
        for (int s = 0; s < subs; s++)
            if (mean) m[s] = LOAD(mean + block * lanes + s * WIDTH);
        const int active = channels - block * lanes < lanes ? channels - block * lanes : lanes;
        for (long image = 0; image < images; image++) {
            const long base = (image * blocks + block) * pixels * lanes;
            const float *p = x + base;
            VEC a[2] = {SPLAT(0.0f), SPLAT(0.0f)}, b[2] = {SPLAT(0.0f), SPLAT(0.0f)};
            if (dy) {
                const float *d = dy + base;
                for (long i = 0; i < pixels; i++, p += lanes, d += lanes)
                    for (int s = 0; s < subs; s++) {
                        const VEC g = LOAD(d + s * WIDTH);
                        a[s] = a[s] + g;
                        b[s] = b[s] + g * (LOAD(p + s * WIDTH) - m[s]);
                    }
            } else {
                for (long i = 0; i < pixels; i++, p += lanes)
                    for (int s = 0; s < subs; s++) {
                        const VEC v = LOAD(p + s * WIDTH);
                        const VEC deviation = v - m[s];
                        a[s] = a[s] + v;
                        b[s] = b[s] + deviation * deviation;
                    }
            }
            for (int s = 0; s < subs; s++)
                for (int l = 0; l < WIDTH && s * WIDTH + l < active; l++) {
                    first[block * lanes + s * WIDTH + l] += (double)LANE(a[s], l);
                    second[block * lanes + s * WIDTH + l] += (double)LANE(b[s], l);
                }
        }
    }
}

TARGET static void NAME(channel_sums_)(const float *x, const float *dy, const float *mean, long images, int blocks,
                                       int lanes, long pixels, int channels, double *first, double *second) {
    if (lanes == 2 * WIDTH) NAME(sums_body_)(x, dy, mean, images, blocks, pixels, channels, first, second, 2);
    else NAME(sums_body_)(x, dy, mean, images, blocks, pixels, channels, first, second, 1);
}

static inline __attribute__((always_inline)) void NAME(affine_body_)(
    const float *dy, const float *x, float *out, const float *dy_scale, const float *x_scale, const float *offset,
    long images, int blocks, long pixels, const int subs) {
    const int lanes = subs * WIDTH;
    for (int block = 0; block < blocks; block++) {
        VEC a[2], k[2], c[2];
        for (int s = 0; s < subs; s++) {
            a[s] = dy ? LOAD(dy_scale + block * lanes + s * WIDTH) : SPLAT(0.0f);
            k[s] = LOAD(x_scale + block * lanes + s * WIDTH);
            c[s] = LOAD(offset + block * lanes + s * WIDTH);
        }
        for (long image = 0; image < images; image++) {
            const long base = (image * blocks + block) * pixels * lanes;
            const long end = pixels * lanes;
            if (dy) {
                for (long i = 0; i < end; i += lanes)
                    for (int s = 0; s < subs; s++) {
                        const long at = base + i + s * WIDTH;
                        STORE(out + at, (a[s] * LOAD(dy + at) + k[s] * LOAD(x + at)) + c[s]);
                    }
            } else {
                for (long i = 0; i < end; i += lanes)
                    for (int s = 0; s < subs; s++) {
                        const long at = base + i + s * WIDTH;
                        STORE(out + at, k[s] * LOAD(x + at) + c[s]);
                    }
            }
        }
    }
}

/* A plain tensor: one coefficient per plane, vectorised along the plane. */
TARGET static void NAME(affine_plain_)(const float *dy, const float *x, float *out, const float *dy_scale,
                                       const float *x_scale, const float *offset, long images, int channels, long pixels) {
    for (long plane = 0; plane < images * channels; plane++) {
        const int channel = (int)(plane % channels);
        const float as = dy ? dy_scale[channel] : 0.0f, ks = x_scale[channel], cs = offset[channel];
        const VEC a = SPLAT(as), k = SPLAT(ks), c = SPLAT(cs);
        const long base = plane * pixels;
        long i = 0;
        if (dy) {
            for (; i + WIDTH <= pixels; i += WIDTH)
                STORE(out + base + i, (a * LOAD(dy + base + i) + k * LOAD(x + base + i)) + c);
            for (; i < pixels; i++) out[base + i] = (as * dy[base + i] + ks * x[base + i]) + cs;
        } else {
            for (; i + WIDTH <= pixels; i += WIDTH) STORE(out + base + i, k * LOAD(x + base + i) + c);
            for (; i < pixels; i++) out[base + i] = ks * x[base + i] + cs;
        }
    }
}

TARGET static void NAME(channel_affine_)(const float *dy, const float *x, float *out, const float *dy_scale,
                                         const float *x_scale, const float *offset, long images, int blocks, int lanes,
                                         long pixels) {
    if (lanes == 2 * WIDTH) NAME(affine_body_)(dy, x, out, dy_scale, x_scale, offset, images, blocks, pixels, 2);
    else NAME(affine_body_)(dy, x, out, dy_scale, x_scale, offset, images, blocks, pixels, 1);
}

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
