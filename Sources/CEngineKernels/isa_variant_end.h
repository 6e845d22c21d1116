/* Ends one variant of isa_variants.h: forgets every macro it defined for the template. */
#undef SUFFIX
#undef TARGET
#undef WIDTH
#undef VEC
#undef VECU
#undef MASK
#undef SELECT
#undef SPLAT
#undef LANES
#undef LANE
