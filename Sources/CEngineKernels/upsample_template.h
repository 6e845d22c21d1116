/* Nearest-neighbour 2x upsampling for one instruction set, compiled once per set through
 * isa_variants.h. A plane is one image's block of channels: height x width pixels of `lanes`
 * floats (LANES(lanes) is the constant 1 in the scalar variant, for plain tensors). */

#define CONCAT_(a, b) a##b
#define CONCAT(a, b) CONCAT_(a, b)
#define NAME(base) CONCAT(base, SUFFIX)
#define LOAD(p) (*(const VECU *)(p))
#define STORE(p, v) (*(VECU *)(p) = (v))

TARGET static void NAME(upsample_forward_)(const float *x, float *out, long planes, int height, int width,
                                           int any_lanes) {
    const int lanes = LANES(any_lanes);
    const long row = 2L * width * lanes;
    for (long p = 0; p < planes; p++) {
        const float *source = x + p * height * width * lanes;
        float *target = out + p * 4 * height * width * lanes;
        for (int y = 0; y < height; y++) {
            float *top = target + 2L * y * row, *bottom = top + row;
            for (int x0 = 0; x0 < width; x0++, source += lanes, top += 2 * lanes, bottom += 2 * lanes)
                for (int l = 0; l < lanes; l += WIDTH) {
                    const VEC v = LOAD(source + l);
                    STORE(top + l, v);
                    STORE(top + lanes + l, v);
                    STORE(bottom + l, v);
                    STORE(bottom + lanes + l, v);
                }
        }
    }
}

/* Each input's gradient: the sum of its four outputs', top left, top right, bottom left,
 * bottom right, in that order. */
TARGET static void NAME(upsample_backward_)(const float *dy, float *dx, long planes, int height, int width,
                                            int any_lanes) {
    const int lanes = LANES(any_lanes);
    const long row = 2L * width * lanes;
    for (long p = 0; p < planes; p++) {
        const float *source = dy + p * 4 * height * width * lanes;
        float *target = dx + p * height * width * lanes;
        for (int y = 0; y < height; y++) {
            const float *top = source + 2L * y * row, *bottom = top + row;
            for (int x0 = 0; x0 < width; x0++, target += lanes, top += 2 * lanes, bottom += 2 * lanes)
                for (int l = 0; l < lanes; l += WIDTH)
                    STORE(target + l, ((LOAD(top + l) + LOAD(top + lanes + l)) + LOAD(bottom + l)) + LOAD(bottom + lanes + l));
        }
    }
}

#undef STORE
#undef LOAD
#undef NAME
#undef CONCAT
#undef CONCAT_
