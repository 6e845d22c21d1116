#ifndef DFKD_CDNNL_SHIM_H
#define DFKD_CDNNL_SHIM_H
#include <oneapi/dnnl/dnnl.h>

// Swift imports only macros that expand to plain literals; these are casts or aliases.
static inline void *dfkd_dnnl_memory_allocate(void) { return DNNL_MEMORY_ALLOCATE; }
static inline void *dfkd_dnnl_memory_none(void) { return DNNL_MEMORY_NONE; }
static inline int dfkd_dnnl_arg_src(void) { return DNNL_ARG_SRC; }
static inline int dfkd_dnnl_arg_dst(void) { return DNNL_ARG_DST; }
static inline int dfkd_dnnl_arg_from(void) { return DNNL_ARG_FROM; }
static inline int dfkd_dnnl_arg_to(void) { return DNNL_ARG_TO; }
static inline int dfkd_dnnl_arg_weights(void) { return DNNL_ARG_WEIGHTS; }
static inline int dfkd_dnnl_arg_bias(void) { return DNNL_ARG_BIAS; }
static inline int dfkd_dnnl_arg_workspace(void) { return DNNL_ARG_WORKSPACE; }
static inline int dfkd_dnnl_arg_scratchpad(void) { return DNNL_ARG_SCRATCHPAD; }
static inline int dfkd_dnnl_arg_diff_src(void) { return DNNL_ARG_DIFF_SRC; }
static inline int dfkd_dnnl_arg_diff_dst(void) { return DNNL_ARG_DIFF_DST; }
static inline int dfkd_dnnl_arg_diff_weights(void) { return DNNL_ARG_DIFF_WEIGHTS; }
static inline int dfkd_dnnl_arg_diff_bias(void) { return DNNL_ARG_DIFF_BIAS; }
#endif
